import { createInterface } from 'node:readline';
import { readAll, type CliIo } from './cli-io.ts';

/** A password is a line; anything longer than this on stdin is not one (the schema refuses it after). */
const PIPED_PASSWORD_BYTES = 64 * 1024;

/** Reads a password from stdin: the first line when piped, or a hidden prompt on a terminal. */
export async function readPassword(io: CliIo, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) {
    const piped = await readAll(io, PIPED_PASSWORD_BYTES);
    return piped.toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  const output = rl as unknown as { _writeToOutput: (text: string) => void; output: NodeJS.WritableStream };
  let prompted = false;
  output._writeToOutput = (text: string) => {
    if (!prompted) {
      output.output.write(text);
      prompted = true;
    }
  };
  const answer = await new Promise<string>((resolve) => rl.question(prompt, resolve));
  rl.close();
  io.stderr.write('\n');
  return answer;
}
