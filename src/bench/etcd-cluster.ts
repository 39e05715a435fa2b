import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitDuringStart, spawnQuiet, stopChild, waitForHttp } from './child-process.ts';
import { onCleanup } from './cleanup.ts';

/** How long three fresh members may take to elect a leader. */
const FORM_DEADLINE_MS = 20_000;

export interface EtcdCluster {
  readonly urls: readonly string[];
  readonly version: string;
  readonly pids: readonly (number | undefined)[];
  stop(): Promise<void>;
}

/** Whether an `etcd` binary is on PATH (Debian: `apt-get install etcd-server`). */
export function etcdVersion(): string | null {
  try {
    const out = execFileSync('etcd', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return null;
  }
}

/**
 * A 3-member etcd cluster on loopback with a temporary data dir: client ports
 * `basePort..basePort+2`, peer ports `basePort+10..basePort+12`. Defaults otherwise, so writes
 * are fsynced by a majority, as nosql-db's are.
 */
export async function startEtcdCluster(basePort: number, members = 3): Promise<EtcdCluster> {
  const version = etcdVersion();
  if (version === null)
    throw new Error(
      'etcd is not on PATH (Debian/Ubuntu: apt-get update && apt-get install etcd-server)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'nosqldb-bench-etcd-'));
  const names = Array.from({ length: members }, (_, i) => `e${i + 1}`);
  const client = (i: number): string => `http://127.0.0.1:${basePort + i}`;
  const peer = (i: number): string => `http://127.0.0.1:${basePort + 10 + i}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const procs: { child: ChildProcess; tail: () => string }[] = names.map((name, i) =>
    spawnQuiet('etcd', [
      '--name',
      name,
      '--data-dir',
      join(dir, name),
      '--listen-client-urls',
      client(i),
      '--advertise-client-urls',
      client(i),
      '--listen-peer-urls',
      peer(i),
      '--initial-advertise-peer-urls',
      peer(i),
      '--initial-cluster',
      initial,
      '--initial-cluster-state',
      'new',
      '--initial-cluster-token',
      `nosqldb-bench-${process.pid}`,
      '--logger',
      'zap',
      '--log-level',
      'warn',
    ]),
  );
  const stop = async (): Promise<void> => {
    unregister();
    await Promise.all(procs.map((p) => stopChild(p.child)));
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(stop);
  // A member that exits (a port in use) ends the wait at once, not at the deadline.
  const early = exitDuringStart(procs.map((p, i) => ({ name: names[i]!, child: p.child })));
  try {
    await Promise.race([
      Promise.all(
        names.map((_, i) =>
          waitForHttp(`${client(i)}/health`, FORM_DEADLINE_MS, (b) => b.includes('"true"')),
        ),
      ),
      early.failure,
    ]);
  } catch (e) {
    const logs = procs.map((p, i) => `--- ${names[i]}\n${p.tail()}`).join('\n');
    await stop();
    throw new Error(`etcd did not start: ${(e as Error).message}\n${logs}`);
  } finally {
    early.settle();
  }
  return {
    urls: names.map((_, i) => client(i)),
    version,
    pids: procs.map((p) => p.child.pid),
    stop,
  };
}
