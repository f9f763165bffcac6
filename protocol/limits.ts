/**
 * Defaults for the limits the server enforces and announces in `welcome.limits`.
 * The server may be configured with other values; clients must obey what the
 * `welcome` frame says, not these constants.
 */
export const DefaultLimits = {
  /** Largest WebSocket message accepted, in bytes. Larger: closed with 1009. */
  maxFrameBytes: 1024 * 1024,
  /** Requests in flight on one socket before TOO_MANY_IN_FLIGHT. */
  maxInFlight: 64,
  /** Sustained requests per second per connection (token bucket refill). */
  requestsPerSecond: 100,
  /** Token bucket size: the burst a connection may send at once. */
  requestBurst: 200,
  /** Milliseconds a socket may stay unauthenticated. */
  authDeadlineMs: 10_000,
  /** Server ping interval; a socket that misses one pong is terminated. */
  heartbeatMs: 30_000,
  /** Objects in one `/set` call (creates + updates + destroys). */
  maxObjectsInSet: 500,
  /** Largest `maxChanges` a client may ask for. */
  maxChangesPerCall: 5_000,
  /**
   * Largest frame accepted before authentication, in bytes: room for any valid
   * `hello`. Checked on the frame's length before it is decoded; larger:
   * an `error` frame and close 4008 (POLICY_VIOLATION).
   */
  maxHelloBytes: 4096,
  /**
   * Largest response frame the server sends, in bytes. Pages (`/changes`,
   * `/get`, `/query`) end early with their `hasMore…` flag before the next
   * object would pass it; an answer that cannot end early is refused with
   * LIMIT_EXCEEDED. Every stored object fits in one answer: events are at
   * most 256 KiB of iCalendar text, GAL entries far less.
   */
  maxAnswerBytes: 2 * 1024 * 1024,
  /**
   * Bytes of answers and pushes queued for a socket that its client has not
   * read. Above DMCI_HIGH_WATER_BYTES the server stops reading the socket's
   * requests (and pushes become resync marks) until it drains; past this one
   * it closes the socket with 4009 SLOW_CONSUMER.
   */
  maxUnreadBytes: 16 * 1024 * 1024,
} as const;

/** Decoder limits for msgpack: a hostile frame cannot make the decoder allocate much. */
export const DecoderLimits = {
  maxStrLength: 512 * 1024,
  maxBinLength: 512 * 1024,
  maxArrayLength: 10_000,
  maxMapLength: 1_000,
  maxExtLength: 0,
  maxDepth: 16,
  /**
   * Values in one frame at most, counted over every level (map keys and
   * values, array items, containers): a frame of a million empty values is
   * refused from its raw bytes, before anything is decoded.
   */
  maxElements: 100_000,
} as const;
