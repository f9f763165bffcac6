import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import { UNREAD_CLOSE_BYTES, UNREAD_PAUSE_BYTES } from './ldap-limits.ts';
import { LdapError, ResultCode } from './ldap-result.ts';
import type { Room } from './ldap-search.ts';

/**
 * Answers written to LDAP connections and not yet taken by their clients
 * (queued in this process: a socket's writableLength), bounded three ways:
 *
 * - per connection, past UNREAD_PAUSE_BYTES its requests are no longer read
 *   and its searches wait (`room`) until the client has read; past
 *   UNREAD_CLOSE_BYTES it is closed;
 * - per node, past `nodeLimit` bytes (DMCI_LDAP_MAX_UNREAD_MB) the
 *   connection holding the most is closed, until the node is below it again.
 *
 * So clients that do not read cost the node at most `nodeLimit`, however many
 * connections they open, and those that read are not slowed by them.
 */
export class UnreadAnswers {
  /** Bytes written to LDAP sockets and not yet handed to the kernel, all connections together. */
  private total = 0;
  /** Per connection: its share of `total` (dropped from it at once when the node closes the connection). */
  private readonly queued = new WeakMap<Socket, { bytes: number; counted: boolean }>();

  constructor(
    private readonly options: {
      nodeLimit: number;
      /** The node's open LDAP connections, to find the one holding the most. */
      sockets: () => Iterable<Socket>;
      log: Logger;
    },
  ) {}

  get bytes(): number {
    return this.total;
  }

  /** Queues part of an answer on `socket` (dropped when it is closed) within the bounds above. */
  write(socket: Socket, chunk: Buffer, remoteAddress: string): void {
    if (socket.destroyed) return;
    let queued = this.queued.get(socket);
    if (!queued) this.queued.set(socket, (queued = { bytes: 0, counted: true }));
    const share = queued;
    share.bytes += chunk.length;
    this.total += chunk.length;
    // Called once the kernel took the chunk, or with an error when the socket was destroyed first.
    socket.write(chunk, () => {
      share.bytes -= chunk.length;
      if (share.counted) this.total -= chunk.length;
    });
    const unread = socket.writableLength;
    if (unread > UNREAD_CLOSE_BYTES) {
      this.options.log.info({ remoteAddress, unreadBytes: unread }, `LDAP connection closed: more than ${UNREAD_CLOSE_BYTES} bytes of answers not read`);
      socket.destroy();
    } else if (unread > UNREAD_PAUSE_BYTES && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
    if (this.total > this.options.nodeLimit) this.closeLargest();
  }

  /**
   * LdapSearch's `Room` on `socket`: none needed while at most
   * UNREAD_PAUSE_BYTES wait unread on it; else a wait until the client has
   * read them, the search's deadline, or (rejected) the connection's close.
   */
  room(socket: Socket): Room {
    return (until) => {
      if (socket.writableLength <= UNREAD_PAUSE_BYTES && !socket.destroyed) return undefined;
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: LdapError) => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        const onDrain = () => settle();
        const onClose = () => settle(new LdapError(ResultCode.unavailable, 'the connection closed'));
        const timer = setTimeout(onDrain, Math.max(0, until - Date.now()));
        if (socket.destroyed) return onClose();
        socket.on('drain', onDrain);
        socket.on('close', onClose);
      });
    };
  }

  /** Closes the connections holding the most unread answers until the node is within its limit. */
  private closeLargest(): void {
    while (this.total > this.options.nodeLimit) {
      let largest: { socket: Socket; share: { bytes: number; counted: boolean } } | undefined;
      for (const socket of this.options.sockets()) {
        const share = this.queued.get(socket);
        if (share?.counted && share.bytes > (largest?.share.bytes ?? 0)) largest = { socket, share };
      }
      if (!largest) return;
      const { socket, share } = largest;
      this.options.log.warn(
        { remoteAddress: socket.remoteAddress, unreadBytes: share.bytes, nodeUnreadBytes: this.total },
        `LDAP connection closed: the node holds more than ${this.options.nodeLimit} bytes of answers not read, this connection the most`,
      );
      // What it held leaves the count now, not when its chunks' callbacks run (with an error, later).
      this.total -= share.bytes;
      share.counted = false;
      socket.destroy();
    }
  }
}
