import { userInfo } from 'node:os';
import type { Actor } from '../accounts/actor.ts';

/**
 * The CLI acts as the system (it runs on the server with database access),
 * named in the audit log after the operating-system user who ran it.
 */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export const cliActor: Actor = { kind: 'system', via: `cli:${osUser()}` };
