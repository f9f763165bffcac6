import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { answerMemoryProbes } from './memory-probe.ts';

/** The baseline: a bare ws server holding sockets and doing nothing else (same ws options as dmci's gateway). */
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false, maxPayload: 1024 * 1024 });
let open = 0;
wss.on('connection', (ws) => {
  open++;
  ws.on('close', () => open--);
  ws.on('message', (data) => ws.send(data));
});
wss.on('listening', () => process.send?.({ type: 'ready', port: (wss.address() as AddressInfo).port }));
answerMemoryProbes(() => ({ open }));
