import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../../src/cluster/local-cluster.ts';
import { holdPort, releasePort } from '../helpers/hold-port.ts';

/**
 * `nosqldb lab` (what `npm start` runs) whose own port is taken: it must stop the three nodes it
 * started before it exits, not leave them to notice their parent is gone. Ports: nodes
 * 30491-30493 (peers 31491-31493), the Lab 30494.
 */
const LAB_PORT = 30494;
let holder: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (holder) await releasePort(holder);
  if (dir) rmSync(dir, { recursive: true, force: true });
  holder = dir = undefined;
});

describe('the Lab on a port in use', () => {
  it('exits 1 with the error, after stopping the nodes it started', async () => {
    holder = await holdPort(LAB_PORT);
    dir = mkdtempSync(join(tmpdir(), 'nosqldb-labbusy-'));
    const child = spawn(
      process.execPath,
      [BIN, 'lab', '--port', String(LAB_PORT), '--base-port', '30491', '--data-dir', dir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(output).toContain(`EADDRINUSE: address already in use 127.0.0.1:${LAB_PORT}`);
    // Each node was told to stop by its parent (SIGTERM) and said so before the parent exited.
    for (const id of ['n1', 'n2', 'n3'])
      expect(output).toContain(`[${id}] ${id}: SIGTERM, shutting down`);
  }, 60_000);
});
