import { fork, type ChildProcess } from 'node:child_process';

/** A benchmark child process speaking a tiny request/response protocol over IPC. */
export class BenchChild {
  private nextId = 1;
  private constructor(readonly process: ChildProcess) {}

  static async start(script: string, env: Record<string, string> = {}, execArgv: string[] = []): Promise<{ child: BenchChild; ready: Record<string, unknown> }> {
    const child = fork(new URL(script, import.meta.url), [], {
      env: { ...process.env, ...env },
      // BENCH_CHILD_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the server side of any benchmark.
      execArgv: ['--import', 'tsx', '--expose-gc', ...execArgv, ...(process.env.BENCH_CHILD_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
      const onMessage = (message: Record<string, unknown>) => {
        if (message.type === 'ready') {
          child.off('message', onMessage);
          resolve(message);
        }
      };
      child.on('message', onMessage);
    });
    return { child: new BenchChild(child), ready };
  }

  /** Sends `{type, ...payload, id}` and resolves with the first reply carrying that id. */
  ask<T = Record<string, unknown>>(type: string, payload: Record<string, unknown> = {}, timeoutMs = 600_000): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${type} within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message: Record<string, unknown>) => {
        if (message.id !== id) return;
        clearTimeout(timer);
        this.process.off('message', onMessage);
        resolve(message as T);
      };
      this.process.on('message', onMessage);
      this.process.send({ type, id, ...payload });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send({ type: 'stop' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
