import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem, hostname, release } from 'node:os';

/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts (which exports
 * `run(args): Promise<object>`) and writes bench/results/NAME.json with the
 * figures, the machine, and the date. Each benchmark measures its own
 * baseline in the same run and reports ratios: these machines are shared and
 * noisy, so only medians and same-run ratios mean anything.
 * BENCH_CHILD_NODE_ARGS adds node flags to every server child a benchmark
 * starts: `BENCH_CHILD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'`
 * writes the server's CPU profile when it stops.
 */
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write('usage: npm run bench -- NAME   (connections, sync, push, expand, gal, ldap, hostile, freebusy, scheduling)\n');
  process.exit(2);
}
let module: { run(args: string[]): Promise<object> };
try {
  module = (await import(`./${name}.ts`)) as typeof module;
} catch (error) {
  process.stderr.write(`no benchmark named ${name}: ${(error as Error).message}\n`);
  process.exit(2);
}
const started = Date.now();
const results = await module.run(args);
const report = {
  name,
  date: new Date().toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 100) / 10,
  machine: { hostname: hostname(), cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kernel: release() },
  results,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify(report, null, 2) + '\n');
process.stdout.write(JSON.stringify(report, null, 2) + '\n');
process.exit(0);
