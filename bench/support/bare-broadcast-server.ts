import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** The push baseline: a bare ws server that sends the bytes it is given to every socket it holds. */
const sockets = new Set<WebSocket>();
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('close', () => sockets.delete(ws));
});
wss.on('listening', () => process.send?.({ type: 'ready', port: (wss.address() as AddressInfo).port }));
process.on('message', (message: { type: string; id: number; bytes?: number[] }) => {
  if (message.type === 'broadcast') {
    const bytes = Buffer.from(message.bytes!);
    const sentAt = performance.timeOrigin + performance.now();
    for (const ws of sockets) ws.send(bytes, { binary: true });
    process.send?.({ id: message.id, sentAt });
  } else if (message.type === 'stop') {
    process.exit(0);
  }
});
