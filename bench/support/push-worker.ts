import WebSocket from 'ws';
import { DmciClient } from '../../connector-sim/client.ts';
import { decodeFrame, ServerFrame } from '../../protocol/index.ts';

/**
 * Holds subscribed sockets for the push benchmark and notes when each push
 * arrives (wall-clock milliseconds, comparable across processes on one
 * machine), keyed by the frame's `newState`. For dmci the sockets are
 * connector-sim clients following a scope; for the bare baseline, plain ws
 * sockets receiving the same kind of frame.
 */
const clients: DmciClient[] = [];
const sockets: WebSocket[] = [];
const receipts = new Map<string, number[]>();
const now = () => performance.timeOrigin + performance.now();

function note(newState: unknown): void {
  const at = now();
  const key = String(newState);
  let list = receipts.get(key);
  if (!list) receipts.set(key, (list = []));
  list.push(at);
}

process.on('message', (message: Record<string, unknown> & { type: string; id: number }) => {
  void (async () => {
    if (message.type === 'open-dmci') {
      const { url, count, login, password, scope, addresses } = message as unknown as { url: string; count: number; login: string; password: string; scope: string; addresses: string[] };
      for (let i = 0; i < count; i++) {
        const client = new DmciClient({ url, login, password, localAddress: addresses[i % addresses.length], requestTimeoutMs: 60_000 });
        client.on('push', (frame) => note(frame.newState));
        await client.connect();
        await client.request('Push/subscribe', { scopes: [{ scope }] });
        clients.push(client);
      }
      process.send?.({ id: message.id, opened: clients.length });
    } else if (message.type === 'open-bare') {
      const { url, count, addresses } = message as unknown as { url: string; count: number; addresses: string[] };
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(url, { localAddress: addresses[i % addresses.length], perMessageDeflate: false });
            // Decoded and validated exactly as DmciClient does, so both sides pay the same client cost.
            ws.on('message', (data: Buffer) => note((ServerFrame.parse(decodeFrame(data)) as { newState?: string }).newState));
            ws.once('open', () => {
              sockets.push(ws);
              resolve();
            });
            ws.once('error', reject);
          }),
        ),
      );
      process.send?.({ id: message.id, opened: sockets.length });
    } else if (message.type === 'receipts') {
      const key = String(message.key);
      process.send?.({ id: message.id, times: receipts.get(key) ?? [] });
      receipts.delete(key);
    } else if (message.type === 'stop') {
      await Promise.all(clients.map((c) => c.close()));
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  })();
});
process.send?.({ type: 'ready' });
