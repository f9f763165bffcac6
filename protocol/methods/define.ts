import type { z } from 'zod';

/** One method of the protocol: its argument and result schemas, and a line for the docs. */
export interface MethodDefinition<Args extends z.ZodType = z.ZodType, Result extends z.ZodType = z.ZodType> {
  readonly args: Args;
  readonly result: Result;
  readonly summary: string;
}

export function defineMethod<Args extends z.ZodType, Result extends z.ZodType>(
  definition: MethodDefinition<Args, Result>,
): MethodDefinition<Args, Result> {
  return definition;
}
