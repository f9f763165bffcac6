import { readFileSync } from 'node:fs';

/** dmci's version: package.json's, the one place it is written. */
export const DMCI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
