import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

/**
 * The configuration file shared by `dmci start` and every other `dmci`
 * command, so a command run from any directory reaches the server's
 * database. The first of these that exists is read:
 *
 *   1. $DMCI_CONFIG (it must exist when set),
 *   2. ./dmci.json in the working directory,
 *   3. /etc/dmci/dmci.json.
 *
 * It is one JSON object whose keys are the environment variable names of
 * docs/operations.md; values are strings, numbers, booleans or (for the
 * comma-separated lists) arrays of strings. An environment variable that is
 * set overrides the file. Relative paths in the file are relative to the
 * file's own directory, not to wherever the command runs.
 */

export const SYSTEM_CONFIG_FILE = '/etc/dmci/dmci.json';
export const LOCAL_CONFIG_FILE = 'dmci.json';
/** Settings holding a path: resolved against the file's directory. */
const PATH_SETTINGS = new Set(['DMCI_DATA_DIR', 'DMCI_TLS_CERT', 'DMCI_TLS_KEY']);

export interface ConfigFile {
  /** The file read, absolute; undefined when none was found. */
  path: string | undefined;
  /** Every place looked at, in order. */
  searched: string[];
  /** Its settings as the strings an environment variable would hold. */
  values: Record<string, string>;
}

export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

export function readConfigFile(env: NodeJS.ProcessEnv, cwd: string, known: ReadonlySet<string>): ConfigFile {
  const explicit = env.DMCI_CONFIG;
  const searched = explicit ? [resolve(cwd, explicit)] : [resolve(cwd, LOCAL_CONFIG_FILE), SYSTEM_CONFIG_FILE];
  const path = searched.find((candidate) => existsSync(candidate));
  if (!path) {
    if (explicit) throw new ConfigFileError(`DMCI_CONFIG names ${searched[0]}, which does not exist`);
    return { path: undefined, searched, values: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigFileError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigFileError(`config file ${path}: must hold one JSON object`);
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!known.has(name)) throw new ConfigFileError(`config file ${path}: unknown setting ${JSON.stringify(name)} (the keys are the environment variable names of docs/operations.md)`);
    const text = asText(value);
    if (text === undefined) throw new ConfigFileError(`config file ${path}: ${name} must be a string, number, boolean or array of strings`);
    values[name] = PATH_SETTINGS.has(name) && text !== '' && !isAbsolute(text) ? resolve(dirname(path), text) : text;
  }
  return { path, searched, values };
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(',');
  return undefined;
}
