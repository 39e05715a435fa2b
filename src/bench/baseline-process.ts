import { join } from 'node:path';
import { REPO_ROOT } from '../repo-root.ts';
import { spawn } from 'node:child_process';
import { stopChild, waitForHttp } from './child-process.ts';
import { onCleanup } from './cleanup.ts';

const SCRIPT = join(REPO_ROOT, 'src', 'bench', 'baseline-server.ts');
const REPO = REPO_ROOT + '/';

export interface BaselineServer {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts the bare Node.js server (baseline-server.ts) in a child process on `port`. */
export async function startBaseline(port: number): Promise<BaselineServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, String(port)], { cwd: REPO, stdio: ['pipe', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> => {
    unregister();
    return stopChild(child);
  };
  const unregister = onCleanup(stop);
  try {
    await waitForHttp(`${url}/health`, 10_000);
  } catch (e) {
    await stop();
    throw new Error(`baseline server did not start: ${(e as Error).message}`);
  }
  return { url, pid: child.pid, stop };
}
