import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Config } from '../config/config.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads DMCI_TLS_CERT and DMCI_TLS_KEY and checks they make a usable pair,
 * before anything else starts: a missing or unreadable file, a bad PEM or a
 * key that does not match the certificate stops start-up with a message
 * naming the setting.
 */
export function loadTlsMaterial(config: Config): TlsMaterial | undefined {
  if (!config.tls) return undefined;
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read ${variable} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const cert = read('DMCI_TLS_CERT', config.tls.certPath);
  const key = read('DMCI_TLS_KEY', config.tls.keyPath);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new Error(`DMCI_TLS_CERT ${config.tls.certPath} and DMCI_TLS_KEY ${config.tls.keyPath} are not a usable certificate and key: ${(error as Error).message}`);
  }
  return { cert, key };
}
