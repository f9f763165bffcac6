import type { z } from 'zod';
import { adminMethods } from './admin.ts';
import { calendarMethods } from './calendar.ts';
import { coreMethods } from './core.ts';
import type { MethodDefinition } from './define.ts';
import { directoryMethods } from './directory.ts';
import { freeBusyMethods } from './freebusy.ts';
import { pushMethods } from './push.ts';
import { storageMethods } from './storage.ts';
import { schedulingMethods } from './scheduling.ts';

/**
 * Every method of the protocol, by name. Feature families live in their own
 * files and are merged here; the server's handler table is typed against this
 * map, so a method without a handler (or a handler without a method) does not
 * compile.
 */
export const Methods = {
  ...coreMethods,
  ...adminMethods,
  ...calendarMethods,
  ...pushMethods,
  ...directoryMethods,
  ...storageMethods,
  ...freeBusyMethods,
  ...schedulingMethods,
} as const;

export type MethodName = keyof typeof Methods;
export type MethodArgs<M extends MethodName> = z.output<(typeof Methods)[M]['args']>;
/** What a caller may pass (before defaults are applied). */
export type MethodArgsInput<M extends MethodName> = z.input<(typeof Methods)[M]['args']>;
export type MethodResult<M extends MethodName> = z.output<(typeof Methods)[M]['result']>;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(Methods, name);
}

export function methodDefinition(name: MethodName): MethodDefinition {
  return Methods[name];
}

/** Method families ("Core", "Admin", ...) announced as capabilities in `welcome`. */
export function methodFamilies(): string[] {
  return [...new Set(Object.keys(Methods).map((name) => name.split('/')[0]!))].sort();
}
