import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { decodeServerFrame, encodeFrame, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/index.ts';
import { DEFAULT_PASSWORD } from './server.ts';

/**
 * A bare WebSocket to the server, below connector-sim: for sending frames a
 * well-behaved client never would and watching exactly what comes back.
 */
export interface RawSocket {
  readonly ws: WebSocket;
  /** Decoded server frames received so far. */
  readonly frames: Array<Record<string, unknown>>;
  /** Resolves when the socket closed, with the code the server sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Waits for the next frame matching `predicate` (already received ones count). */
  waitFor(predicate: (frame: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  send(frame: unknown): void;
  sendBytes(bytes: Uint8Array | string): void;
  isOpen(): boolean;
}

export function openRaw(url: string, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
    ws.binaryType = 'nodebuffer';
    const frames: Array<Record<string, unknown>> = [];
    const waiters = new Set<() => void>();
    ws.on('message', (data: Buffer) => {
      try {
        // With the limits of server frames (bounded by bytes), as every client decodes them: a full answer holds far more values than a request may.
        frames.push(decodeServerFrame(data));
      } catch {
        frames.push({ type: '(undecodable)' });
      }
      for (const wake of [...waiters]) wake();
    });
    ws.on('error', () => {});
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) => {
      ws.on('close', (code, reason) => {
        resolveClose({ code, reason: reason.toString() });
        for (const wake of [...waiters]) wake();
      });
    });
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () =>
      resolve({
        ws,
        frames,
        closed,
        send: (frame) => ws.send(encodeFrame(frame)),
        sendBytes: (bytes) => ws.send(bytes),
        isOpen: () => ws.readyState === WebSocket.OPEN,
        waitFor(predicate, timeoutMs = 5000) {
          return new Promise((resolveFrame, rejectFrame) => {
            let seen = 0;
            const check = () => {
              for (; seen < frames.length; seen++) {
                if (predicate(frames[seen]!)) {
                  cleanup();
                  return resolveFrame(frames[seen]!);
                }
              }
              if (ws.readyState === WebSocket.CLOSED) {
                cleanup();
                rejectFrame(new Error(`socket closed before the frame came; got ${JSON.stringify(frames)}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              rejectFrame(new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
      }),
    );
    ws.once('close', () => reject(new Error('closed before open')));
  });
}

export function helloFrame(login: string, password = DEFAULT_PASSWORD): Record<string, unknown> {
  return { type: 'hello', versions: [...SUPPORTED_PROTOCOL_VERSIONS], client: { name: 'raw-test', version: '1' }, auth: { method: 'password', login, password } };
}

/** A raw socket that completed the handshake. */
export async function openAuthenticated(url: string, login: string, password = DEFAULT_PASSWORD): Promise<RawSocket> {
  const socket = await openRaw(url);
  socket.send(helloFrame(login, password));
  await socket.waitFor((f) => f.type === 'welcome');
  return socket;
}

/** Sends a request and waits for its response. */
export async function rawRequest(socket: RawSocket, id: number | string, method: string, args?: unknown): Promise<Record<string, unknown>> {
  socket.send({ type: 'request', id, method, ...(args !== undefined ? { args } : {}) });
  return socket.waitFor((f) => f.type === 'response' && f.id === id);
}

/** A client that stops reading: its TCP socket is paused; `maxUnread` is the most `unreadBytes()` (the server side's queue) showed while sampled. */
export interface StalledReader {
  resume(): void;
  maxUnread(): number;
  stopSampling(): void;
}

export function stallReading(socket: RawSocket, unreadBytes: () => number): StalledReader {
  const tcp = (socket.ws as unknown as { _socket: Socket })._socket;
  tcp.pause();
  let max = 0;
  const sampler = setInterval(() => {
    max = Math.max(max, unreadBytes());
  }, 2);
  return { resume: () => tcp.resume(), maxUnread: () => max, stopSampling: () => clearInterval(sampler) };
}
