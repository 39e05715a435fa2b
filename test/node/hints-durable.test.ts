import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { HintStore } from '../../src/node/hint-store.ts';
import { coordinateWrite } from '../../src/core/siblings.ts';
import { emptyVector } from '../../src/core/version-vector.ts';
import { KvError } from '../../src/core/errors.ts';

/** Issue 3, acceptance 5: hints survive a restart of the node holding them; the bound is loud. */
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const record = (v: string) =>
  coordinateWrite(undefined, emptyVector(), 'n1', { value: new TextEncoder().encode(v), contentType: 'text/plain', deleted: false, writtenAtMs: 0 }).record;

describe('hint store on LMDB', () => {
  it('[HH2] hints survive a restart, per target, with their records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-hints-'));
    dirs.push(dir);
    let storage = LmdbStorage.open({ path: dir });
    let hints = new HintStore(storage, 1000);
    await Promise.all(Array.from({ length: 50 }, (_, i) => hints.store(i % 2 === 0 ? 'n2' : 'n3', `0001/k${i}`, record(`v${i}`))));
    expect(hints.pending()).toEqual({ total: 50, byTarget: { n2: 25, n3: 25 } });
    await storage.close();
    storage = LmdbStorage.open({ path: dir });
    hints = new HintStore(storage, 1000);
    expect(hints.pending()).toEqual({ total: 50, byTarget: { n2: 25, n3: 25 } });
    const batch = hints.batch('n3', 100);
    expect(batch.length).toBe(25);
    expect(new TextDecoder().decode(hints.read('n3', '0001/k1')!.siblings[0]!.value)).toBe('v1');
    expect(await hints.removeDelivered('n3', batch)).toBe(25);
    expect(hints.pending().byTarget).toEqual({ n2: 25 });
    await storage.close();
  });

  it('[HH3] past the bound for a target, hints are refused with KV_OVERLOADED and counted, never dropped silently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nosqldb-hints-'));
    dirs.push(dir);
    const storage = LmdbStorage.open({ path: dir });
    const hints = new HintStore(storage, 10);
    for (let i = 0; i < 10; i++) await hints.store('n2', `0001/k${i}`, record('x'));
    // Updating an existing hint is always fine: it takes no new slot.
    await hints.store('n2', '0001/k3', record('y'));
    const refused = await hints.store('n2', '0001/k10', record('z')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(KvError);
    expect((refused as KvError).code).toBe('KV_OVERLOADED');
    expect(hints.dropped).toBe(1);
    expect(hints.pending().total).toBe(10);
    // Another target has its own bound.
    await hints.store('n3', '0001/k0', record('x'));
    expect(hints.pending().byTarget).toEqual({ n2: 10, n3: 1 });
    await storage.close();
  });
});
