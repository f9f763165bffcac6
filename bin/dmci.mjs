#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between `npm install` and `npm start`.
import { setTimeout } from 'node:timers';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../server/cli/main.ts');
const code = await main(process.argv);
process.exitCode = code;
// Every command closes what it opened, so the process ends by itself. Should something still hold it
// open (a bug), exit anyway and say so: a service manager must never see a live process doing nothing.
setTimeout(() => {
  process.stderr.write('dmci: warning: something was still open after the command finished; exiting anyway\n');
  process.exit(code);
}, 5000).unref();
