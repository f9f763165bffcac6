import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/logger.ts';

/**
 * Starts listening and returns the port (useful with port 0). A failed
 * listen rejects; after that, errors the server emits (a failed accept() on
 * ENOBUFS, ENOMEM, EMFILE, ...) are logged instead: unheard, one would kill
 * the process.
 */
export async function listenOn(server: Server, port: number, host: string, log: Logger, door: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.warn({ err: error }, `${door}: accept failed`));
  return (server.address() as AddressInfo).port;
}
