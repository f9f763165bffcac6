import { parentPort } from 'node:worker_threads';
import { DmciError } from '../../errors.ts';
import { tasks, type TaskName } from './tasks.ts';

/**
 * The entry of one calendar worker thread (pool.ts): says 'ready' once
 * loaded, then runs one task at a time and answers with its output or its error. A DmciError travels as its body;
 * anything else as INTERNAL with the stack, for the main thread to log.
 */
export interface TaskMessage {
  id: number;
  task: TaskName;
  input: unknown;
}

export type TaskReply = { id: number; ok: true; output: unknown } | { id: number; ok: false; error: { code: string; message: string; details?: unknown; internal: boolean } };

const port = parentPort!;
port.on('message', (message: TaskMessage) => {
  let reply: TaskReply;
  try {
    const output = (tasks[message.task] as (input: unknown) => unknown)(message.input);
    reply = { id: message.id, ok: true, output };
  } catch (error) {
    reply =
      error instanceof DmciError
        ? { id: message.id, ok: false, error: { ...error.toBody(), internal: false } }
        : { id: message.id, ok: false, error: { code: 'INTERNAL', message: (error as Error)?.stack ?? String(error), internal: true } };
  }
  port.postMessage(reply);
});
port.postMessage('ready');
