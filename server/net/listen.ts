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
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(door, host, port, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => log.warn({ err: error }, `${door}: accept failed`));
  return (server.address() as AddressInfo).port;
}

/** One clear line for a port that cannot be had (the usual start-up failure). */
export function listenError(door: string, host: string, port: number, error: NodeJS.ErrnoException): Error {
  const why = error.code === 'EADDRINUSE' ? 'the address is already in use (another dmci or another program?)' : error.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : error.message;
  return new Error(`${door} cannot listen on ${host}:${port}: ${why}`, { cause: error });
}
