import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../repo-root.ts';
import { stopChild } from './child-process.ts';
import { onCleanup } from './cleanup.ts';

// From the checkout's root, not from this module: the CLI may run from the dist/ bundle.
const SCRIPT = join(REPO_ROOT, 'src', 'bench', 'baseline-server.ts');
/** How long the bare server may take to load and listen. */
const START_DEADLINE_MS = 15_000;

export interface BaselineServer {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Starts the bare Node.js server (baseline-server.ts) in a child process on `port`. It waits for
 * the child's `serving:` line rather than polling the port: connecting again and again to a
 * loopback port nobody listens on can end in a TCP self-connect that then holds the port.
 */
export async function startBaseline(port: number): Promise<BaselineServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, String(port)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => {
    unregister();
    return stopChild(child);
  };
  const unregister = onCleanup(stop);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "serving:" line within ${START_DEADLINE_MS} ms`)),
        START_DEADLINE_MS,
      );
      let seen = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        seen = (seen + chunk).slice(-200);
        if (seen.includes('serving:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code}`));
      });
    });
  } catch (e) {
    await stop();
    throw new Error(`baseline server did not start: ${(e as Error).message}`);
  }
  child.stdout.resume();
  return { url, pid: child.pid, stop };
}
