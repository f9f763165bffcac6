/**
 * What a `dmci` command reads and writes besides the database: its output
 * streams, its input, its environment and working directory. `bin/dmci.mjs`
 * passes the process's own; tests pass strings, so most CLI tests run the
 * command in-process (the same `main`) instead of paying a few seconds of
 * module loading per spawned process.
 */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** All of stdin, at most `limit` bytes kept (the rest is read and dropped, so a pipe never blocks the writer). */
export async function readAll(io: CliIo, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (kept >= limit) continue;
    const part = bytes.subarray(0, limit - kept);
    chunks.push(part);
    kept += part.length;
  }
  return Buffer.concat(chunks);
}
