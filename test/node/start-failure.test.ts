import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../src/node/config.ts';
import { startNode } from '../../src/server/start-node.ts';
import { holdPort, releasePort } from '../helpers/hold-port.ts';

/**
 * A node that cannot take its ports fails to start, and leaves nothing running behind it: no
 * peer listener, no timers, no open storage. (Found by hand: a micro-benchmark started on a
 * busy port printed the error and then never exited.)
 */
const HTTP_PORT = 30461;
const PEER_PORT = 30462;
const config = { ...DEFAULTS, id: 'n1', seeds: [], n: 1, r: 1, w: 1, antiEntropyIntervalMs: 0 };

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await releasePort(s);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Takes `port` (holdPort), released after the test: to hold a port, or to show it is free. */
async function listen(port: number): Promise<Server> {
  const server = await holdPort(port);
  servers.push(server);
  return server;
}

/** Files of this process open under `dir` (Linux: /proc/self/fd): the storage's, if it leaked. */
function openFilesUnder(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) open.push(target);
    } catch {
      // Closed between listing and reading: not open.
    }
  }
  return open;
}

describe('a node that cannot start', () => {
  it('rejects when its HTTP port is taken, releases its peer port, and its data dir starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-startfail-'));
    dirs.push(dir);
    await listen(HTTP_PORT);
    await expect(
      startNode({ host: '127.0.0.1', port: HTTP_PORT, peerPort: PEER_PORT, dataDir: dir, config }),
    ).rejects.toThrow(/EADDRINUSE/);
    // The peer listener was closed with the half-started node: the port can be bound again.
    await listen(PEER_PORT);
    expect(openFilesUnder(dir)).toEqual([]);
    const again = await startNode({ host: '127.0.0.1', port: 0, dataDir: dir, config });
    try {
      expect(again.node.stats.keys).toBe(0);
    } finally {
      await again.close();
    }
  });

  it('rejects when its peer port is taken, closes its storage, and its data dir starts again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-startfail-'));
    dirs.push(dir);
    await listen(PEER_PORT);
    await expect(
      startNode({ host: '127.0.0.1', port: HTTP_PORT, peerPort: PEER_PORT, dataDir: dir, config }),
    ).rejects.toThrow(/EADDRINUSE/);
    // The storage it had opened is closed again, and nothing listens on the HTTP port.
    expect(openFilesUnder(dir)).toEqual([]);
    await listen(HTTP_PORT);
    const again = await startNode({ host: '127.0.0.1', port: 0, dataDir: dir, config });
    await again.close();
  });
});
