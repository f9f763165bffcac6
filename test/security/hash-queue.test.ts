import { describe, expect, it } from 'vitest';
import { HashQueue, HashQueueFull } from '../../server/security/hash-queue.ts';

/** A task that runs until released, counting how many ever started. */
function tasks() {
  const started: string[] = [];
  const releases: Array<() => void> = [];
  const task = (name: string) => () => {
    started.push(name);
    return new Promise<string>((resolve) => releases.push(() => resolve(name)));
  };
  const releaseAll = async () => {
    while (releases.length > 0) {
      releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { started, task, releaseAll };
}

describe('HashQueue', () => {
  it('runs at most `concurrency` tasks and bounds what one key may queue', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 100, maxPerKey: 2 });
    const t = tasks();
    const a1 = queue.run(t.task('a1'), { key: '192.0.2.1' });
    const a2 = queue.run(t.task('a2'), { key: '192.0.2.1' });
    await expect(queue.run(t.task('a3'), { key: '192.0.2.1' })).rejects.toBeInstanceOf(HashQueueFull);
    const b1 = queue.run(t.task('b1'), { key: '192.0.2.2' });
    expect(t.started).toEqual(['a1']);
    expect(queue.queued).toBe(2);
    await t.releaseAll();
    expect(await Promise.all([a1, a2, b1])).toEqual(['a1', 'a2', 'b1']);
  });

  it('bounds the keyed waiting line in total; unkeyed work still waits its turn', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 2, maxPerKey: 1 });
    const t = tasks();
    const running = [queue.run(t.task('k1'), { key: 'a' }), queue.run(t.task('k2'), { key: 'b' }), queue.run(t.task('k3'), { key: 'c' })];
    await expect(queue.run(t.task('k4'), { key: 'd' })).rejects.toBeInstanceOf(HashQueueFull);
    running.push(queue.run(t.task('admin')));
    await t.releaseAll();
    expect(await Promise.all(running)).toEqual(['k1', 'k2', 'k3', 'admin']);
    expect(t.started).toEqual(['k1', 'k2', 'k3', 'admin']);
  });

  it('drops a waiting task whose signal fires before its turn: it is never run and frees its place', async () => {
    const queue = new HashQueue({ concurrency: 1, maxQueued: 10, maxPerKey: 1 });
    const t = tasks();
    const first = queue.run(t.task('first'), { key: 'a' });
    const abandon = new AbortController();
    const dropped = queue.run(t.task('dropped'), { key: 'b', signal: abandon.signal });
    abandon.abort(new Error('socket closed'));
    await expect(dropped).rejects.toThrow('socket closed');
    expect(queue.queued).toBe(0);
    const again = queue.run(t.task('again'), { key: 'b' });
    await t.releaseAll();
    await Promise.all([first, again]);
    expect(t.started).toEqual(['first', 'again']);
  });
});
