import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../protocol/index.ts';

/**
 * Holds many client sockets for a benchmark, in its own process (one process
 * can hold fewer sockets than the machine's open-file limit). A lean client on
 * purpose: a socket, a hello, and nothing else, so the load generator costs
 * little and measures connect (TCP + upgrade) and auth (hello → welcome, or
 * hello → echo for the bare baseline) latency separately.
 */
interface OpenRequest {
  id: number;
  kind: 'dmci' | 'bare';
  url: string;
  count: number;
  addresses: string[];
  credentials: Array<{ login: string; password: string }>;
  concurrency: number;
  /** Index of this batch's first socket in the whole run, so accounts are used evenly across workers. */
  credentialOffset: number;
}

const sockets: WebSocket[] = [];
let addressCursor = 0;
let credentialCursor = 0;

function openOne(request: OpenRequest): Promise<{ connectMs: number; authMs: number } | { error: string }> {
  const address = request.addresses[addressCursor++ % request.addresses.length]!;
  const started = performance.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(request.url, { localAddress: address, perMessageDeflate: false });
    let connectMs = 0;
    const fail = (error: string) => {
      ws.terminate();
      resolve({ error });
    };
    ws.on('error', (error) => fail(error.message));
    ws.on('close', (code) => fail(`closed ${code}`));
    ws.on('open', () => {
      connectMs = performance.now() - started;
      // The bare baseline gets the same hello bytes and echoes them, so both servers' ws internals have seen one exchange.
      const credential = request.credentials[credentialCursor++ % request.credentials.length]!;
      const helloSent = performance.now();
      ws.once('message', (data: Buffer) => {
        const frame = decodeFrame(data);
        if (frame.type !== (request.kind === 'dmci' ? 'welcome' : 'hello')) return fail(`unexpected reply: ${JSON.stringify(frame).slice(0, 200)}`);
        ws.removeAllListeners('close');
        sockets.push(ws);
        resolve({ connectMs, authMs: performance.now() - helloSent });
      });
      ws.send(encodeFrame({ type: 'hello', versions: [1], client: { name: 'bench', version: '1' }, auth: { method: 'password', ...credential } }));
    });
  });
}

async function openMany(request: OpenRequest) {
  credentialCursor = request.credentialOffset;
  const connectMs: number[] = [];
  const authMs: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const workers = Array.from({ length: Math.min(request.concurrency, request.count) }, async () => {
    while (next < request.count) {
      next++;
      const result = await openOne(request);
      if ('error' in result) errors.push(result.error);
      else {
        connectMs.push(result.connectMs);
        authMs.push(result.authMs);
      }
    }
  });
  await Promise.all(workers);
  return { opened: connectMs.length, failed: errors.length, firstErrors: errors.slice(0, 5), connectMs, authMs };
}

process.on('message', (message: { type: string; id: number } & Partial<OpenRequest>) => {
  if (message.type === 'open') {
    void openMany(message as OpenRequest).then((result) => process.send?.({ id: message.id, ...result }));
  } else if (message.type === 'close-all') {
    for (const ws of sockets.splice(0)) ws.terminate();
    process.send?.({ id: message.id, closed: true });
  } else if (message.type === 'stop') {
    for (const ws of sockets.splice(0)) ws.terminate();
    process.exit(0);
  }
});
process.send?.({ type: 'ready' });
