import { z } from 'zod';
import { ClientFrame, ServerFrame } from './envelope.ts';
import { Methods } from './methods/index.ts';

/**
 * The whole contract as one canonical JSON value. test/protocol/schema-hash
 * hashes it and compares with schema-hashes.ts, so a schema change without a
 * protocol version bump fails the build.
 */
export function contractAsJson(): unknown {
  const methods: Record<string, unknown> = {};
  for (const name of Object.keys(Methods).sort()) {
    const def = Methods[name as keyof typeof Methods];
    methods[name] = {
      args: z.toJSONSchema(def.args, { io: 'input', unrepresentable: 'any' }),
      result: z.toJSONSchema(def.result, { io: 'output', unrepresentable: 'any' }),
    };
  }
  return {
    clientFrame: z.toJSONSchema(ClientFrame, { io: 'input', unrepresentable: 'any' }),
    serverFrame: z.toJSONSchema(ServerFrame, { io: 'output', unrepresentable: 'any' }),
    methods,
  };
}
