import { z } from 'zod';
import { DefaultLimits } from './limits.ts';

/**
 * Envelopes: the outer shape of every frame. Client frames are validated on
 * arrival; a frame that fails here closes the socket with PROTOCOL_ERROR.
 * Method arguments are validated separately (methods/), so a bad argument
 * only fails that one request.
 */

export const RequestId = z.union([z.string().min(1).max(64), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)]);
export type RequestId = z.infer<typeof RequestId>;

/** Text the server may store or look up: no NUL (PostgreSQL text cannot hold it). */
const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL (U+0000)');

const ClientInfo = z.strictObject({
  name: text(1, 64),
  version: text(1, 64),
});

export const PasswordAuth = z.strictObject({
  method: z.literal('password'),
  /** The account's email address. */
  login: text(3, 320),
  password: z.string().min(1).max(1024),
});

export const ResumeAuth = z.strictObject({
  method: z.literal('resume'),
  /** A resume token from an earlier `welcome`. */
  token: text(16, 128),
});

export const HelloFrame = z.strictObject({
  type: z.literal('hello'),
  /** Protocol versions the client speaks. */
  versions: z.array(z.number().int().positive()).min(1).max(16),
  client: ClientInfo,
  auth: z.discriminatedUnion('method', [PasswordAuth, ResumeAuth]),
});
export type HelloFrame = z.infer<typeof HelloFrame>;

export const RequestFrame = z.strictObject({
  type: z.literal('request'),
  id: RequestId,
  method: z.string().min(1).max(64),
  args: z.record(z.string(), z.unknown()).optional(),
});
export type RequestFrame = z.infer<typeof RequestFrame>;

export const PingFrame = z.strictObject({
  type: z.literal('ping'),
  id: RequestId.optional(),
});
export type PingFrame = z.infer<typeof PingFrame>;

export const ClientFrame = z.discriminatedUnion('type', [HelloFrame, RequestFrame, PingFrame]);
export type ClientFrame = z.infer<typeof ClientFrame>;

// ---- server → client ----

export const AnnouncedLimits = z.strictObject({
  maxFrameBytes: z.number().int(),
  maxInFlight: z.number().int(),
  requestsPerSecond: z.number(),
  requestBurst: z.number().int(),
  maxObjectsInSet: z.number().int(),
  maxChangesPerCall: z.number().int(),
  /** Largest response frame: pages end early (hasMore…) before passing it. */
  maxAnswerBytes: z.number().int(),
  /** Answers and pushes the client has not read yet, in bytes, past which the socket is closed with 4009. */
  maxUnreadBytes: z.number().int(),
});
export type AnnouncedLimits = z.infer<typeof AnnouncedLimits>;
export const defaultAnnouncedLimits: AnnouncedLimits = {
  maxFrameBytes: DefaultLimits.maxFrameBytes,
  maxInFlight: DefaultLimits.maxInFlight,
  requestsPerSecond: DefaultLimits.requestsPerSecond,
  requestBurst: DefaultLimits.requestBurst,
  maxObjectsInSet: DefaultLimits.maxObjectsInSet,
  maxChangesPerCall: DefaultLimits.maxChangesPerCall,
  maxAnswerBytes: DefaultLimits.maxAnswerBytes,
  maxUnreadBytes: DefaultLimits.maxUnreadBytes,
};

export const Role = z.enum(['user', 'domain_admin', 'global_admin']);
export type Role = z.infer<typeof Role>;

export const SessionAccount = z.strictObject({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  role: Role,
  domain: z.string(),
});
export type SessionAccount = z.infer<typeof SessionAccount>;

export const WelcomeFrame = z.strictObject({
  type: z.literal('welcome'),
  version: z.number().int(),
  sessionId: z.string(),
  /** How often the server pings; clients may also send `ping` frames. */
  heartbeatMs: z.number().int(),
  limits: AnnouncedLimits,
  /** Method families this server offers, e.g. "Core", "Admin", "Calendar". */
  capabilities: z.array(z.string()),
  account: SessionAccount,
  /** Present it in a later `hello` as `{method:'resume', token}` instead of the password. */
  resumeToken: z.string(),
  resumeTokenExpiresAt: z.string(),
});
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;

export const ErrorBody = z.strictObject({
  code: z.string(),
  message: z.string(),
  /** Per-field problems for INVALID_ARGUMENTS, limit figures for LIMIT_EXCEEDED, ... */
  details: z.unknown().optional(),
  retryAfterMs: z.number().int().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const ResponseFrame = z.discriminatedUnion('ok', [
  z.strictObject({ type: z.literal('response'), id: RequestId, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ type: z.literal('response'), id: RequestId, ok: z.literal(false), error: ErrorBody }),
]);
export type ResponseFrame = z.infer<typeof ResponseFrame>;

/**
 * A push: something changed in a sync scope the session follows. `changes`
 * applies to a replica whose state equals `oldState`; any other replica (or a
 * push with `resync: true` and no changes) calls the scope's `/changes`.
 */
export const PushFrame = z.strictObject({
  type: z.literal('push'),
  scope: z.string(),
  oldState: z.string().optional(),
  newState: z.string(),
  changes: z.unknown().optional(),
  resync: z.boolean().optional(),
});
export type PushFrame = z.infer<typeof PushFrame>;

/** Sent once before the server closes a socket for a reason the client should show. */
export const ErrorFrame = z.strictObject({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  retryAfterMs: z.number().int().optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

export const PongFrame = z.strictObject({
  type: z.literal('pong'),
  id: RequestId.optional(),
  serverTime: z.string(),
});
export type PongFrame = z.infer<typeof PongFrame>;

export const ServerFrame = z.union([WelcomeFrame, ResponseFrame, PushFrame, ErrorFrame, PongFrame]);
export type ServerFrame = z.infer<typeof ServerFrame>;
