import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { exitDuringStart } from '../../src/bench/child-process.ts';

/** A Node.js child running `code`. */
const node = (code: string): ChildProcess =>
  spawn(process.execPath, ['-e', code], { stdio: 'ignore' });

/** Whether `p` has rejected by the time the event loop has turned once more. */
async function rejectedSoon(p: Promise<unknown>): Promise<boolean> {
  let rejected = false;
  p.catch(() => (rejected = true));
  await new Promise((res) => setImmediate(res));
  return rejected;
}

describe('exitDuringStart (bench start-up waits end when a process dies)', () => {
  it('rejects when a child exits while starting, naming it and its exit code', async () => {
    const slow = node('setTimeout(() => {}, 10000)');
    const dying = node('process.exit(3)');
    const early = exitDuringStart([
      { name: 'e1', child: slow },
      { name: 'e2', child: dying },
    ]);
    try {
      await expect(early.failure).rejects.toThrow('e2 exited while starting (exit code 3)');
    } finally {
      slow.kill('SIGKILL');
    }
  });

  it('rejects for a child that had exited before it was watched', async () => {
    const gone = node('process.exit(0)');
    await once(gone, 'exit');
    await expect(exitDuringStart([{ name: 'e1', child: gone }]).failure).rejects.toThrow(
      'e1 exited while starting (exit code 0)',
    );
  });

  it('ignores exits after settle(): stopping a started process is not a failure', async () => {
    const running = node('setTimeout(() => {}, 10000)');
    const early = exitDuringStart([{ name: 'e1', child: running }]);
    early.settle();
    running.kill('SIGTERM');
    await once(running, 'exit');
    expect(await rejectedSoon(early.failure)).toBe(false);
  });

  it('names the signal when a child is killed before it started', async () => {
    const running = node('setTimeout(() => {}, 10000)');
    const early = exitDuringStart([{ name: 'e1', child: running }]);
    running.kill('SIGKILL');
    await once(running, 'exit');
    expect(await rejectedSoon(early.failure)).toBe(true);
    await expect(early.failure).rejects.toThrow('e1 exited while starting (signal SIGKILL)');
  });
});
