import { WebSocketServer } from 'ws';
import { afterEach, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { decodeFrame, decodeServerFrame, defaultAnnouncedLimits, encodeFrame, FrameDecodeError, PROTOCOL_VERSION, type WelcomeFrame } from '../../protocol/index.ts';

/**
 * A client decodes the server's frames with limits that follow from their
 * byte size, not with the limits the server applies to clients: a full GAL
 * page holds more than 100,000 values. And a frame it cannot decode fails
 * the pending requests at once instead of leaving them to time out.
 */
let wss: WebSocketServer | undefined;
afterEach(() => new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve())));

it('decodes a server frame of 150,000 values that a client frame may not hold', () => {
  const frame = { type: 'response', id: 1, ok: true, result: { created: Array.from({ length: 7500 }, (_, n) => ({ id: `e${n}`, displayName: `Person ${n}`, emails: [`p${n}@x.test`], kind: 'person', department: null, title: null, phones: [], aliases: [], modseq: n })) } };
  const bytes = encodeFrame(frame);
  expect(() => decodeFrame(bytes)).toThrow(FrameDecodeError);
  expect(decodeServerFrame(bytes)).toEqual(frame);
});

it('fails a pending request when the answer cannot be decoded, instead of letting it hang', async () => {
  wss = new WebSocketServer({ port: 0 });
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer) => {
      const frame = decodeFrame(data);
      if (frame.type === 'hello') {
        const welcome: WelcomeFrame = {
          type: 'welcome',
          version: PROTOCOL_VERSION,
          sessionId: 's1',
          heartbeatMs: 30_000,
          limits: defaultAnnouncedLimits,
          capabilities: ['Core'],
          account: { id: 'u1', email: 'a@b.test', displayName: 'A', role: 'user', domain: 'b.test' },
          resumeToken: 'r',
          resumeTokenExpiresAt: new Date(Date.now() + 60_000).toISOString(),
        };
        socket.send(encodeFrame(welcome));
        return;
      }
      socket.send(Buffer.from([0xc1])); // never valid msgpack
    });
  });
  await new Promise((resolve) => wss!.once('listening', resolve));
  const port = (wss.address() as { port: number }).port;
  const client = new DmciClient({ url: `ws://127.0.0.1:${port}`, login: 'a@b.test', password: 'x', requestTimeoutMs: 60_000, reconnect: false });
  await client.connect();
  const started = Date.now();
  await expect(client.request('Core/echo', { payload: 1 })).rejects.toThrow(/closed/);
  expect(Date.now() - started).toBeLessThan(30_000);
  await client.close();
});
