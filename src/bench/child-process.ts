import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** Spawns a helper process whose output is kept (the last lines) for error messages only. */
export function spawnQuiet(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): { child: ChildProcess; tail: () => string } {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    // Only the tail is ever shown: a bound on what a chatty child can make us hold.
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, tail: () => lines.join('\n') };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Polls `url` until it answers 200 (and `accept` likes the body), or throws after `deadlineMs`. */
export async function waitForHttp(
  url: string,
  deadlineMs: number,
  accept: (body: string) => boolean = () => true,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok && accept(await res.text())) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Rejects as soon as one of `children` exits (or has exited), naming it and how it ended, until
 * `settle()` is called: after that, exits are the normal stop and are ignored. Raced against a
 * start-up wait, it ends the wait at once when a process could not start (a port in use) instead
 * of at the deadline. The promise never rejects unhandled.
 */
export function exitDuringStart(
  children: readonly { readonly name: string; readonly child: ChildProcess }[],
): { failure: Promise<never>; settle: () => void } {
  let settled = false;
  const failure = new Promise<never>((_, reject) => {
    const exited = (name: string, code: number | null, signal: string | null): void => {
      const how = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
      if (!settled) reject(new Error(`${name} exited while starting (${how})`));
    };
    for (const { name, child } of children) {
      if (child.exitCode !== null || child.signalCode !== null)
        exited(name, child.exitCode, child.signalCode);
      else child.once('exit', (code, signal) => exited(name, code, signal));
    }
  });
  failure.catch(() => undefined);
  return { failure, settle: () => void (settled = true) };
}
