import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyPatch,
  documentRowText,
  documentView,
  emptyDocument,
  encodeDocument,
  idempotencyRetentionMs,
  parsePatch,
  type DocumentState,
} from '../../src/core/crdt/index.ts';
import type { VersionedRecord } from '../../src/core/siblings.ts';
import { emptyVector } from '../../src/core/version-vector.ts';
import { DocumentTables } from '../../src/node/document-tables.ts';
import { HintStore } from '../../src/node/hint-store.ts';
import { decodeRecord, encodeRecord } from '../../src/node/record-codec.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { Storage, WriteOp } from '../../src/storage/storage.ts';

const T0 = 1_700_000_000_000;
const MAIN = 'data';
const ROWS = 'doc-tables';
const K = '0001/likes';
const inc = parsePatch({ likes: { $inc: 1 } });

/** A storage that records what each write costs. */
function metered(inner: Storage): Storage & { last: { ops: number; bytes: number } } {
  const out = {
    last: { ops: 0, bytes: 0 },
    get: (t: string, k: string) => inner.get(t, k),
    range: (t: string, o?: Parameters<Storage['range']>[1]) => inner.range(t, o),
    count: (t: string) => inner.count(t),
    close: () => inner.close(),
    write: (ops: readonly WriteOp[]) => {
      out.last = { ops: ops.length, bytes: ops.reduce((n, op) => n + op.key.length + (op.type === 'put' ? op.value.byteLength : 0), 0) };
      return inner.write(ops);
    },
  };
  return out;
}

/** What #coordinatePatch does: read the row and one table row, apply, store what changed. */
function update(storage: Storage, tables: DocumentTables, key: string, nowMs: number): Promise<void> | undefined {
  const bytes = storage.get(MAIN, K);
  const stored = bytes ? decodeRecord(bytes) : undefined;
  const { record, rows } = tables.withRows(K, stored, [key]);
  const result = applyPatch(record?.doc ?? emptyDocument(), inc, { actor: 'n1', nowMs, idempotencyKey: key });
  if (result.duplicate) return undefined;
  const next: VersionedRecord = { context: emptyVector(), siblings: [], doc: result.state };
  return tables.store(MAIN, K, bytes, rows, next, nowMs);
}

function full(storage: Storage, tables: DocumentTables): DocumentState {
  return tables.withTable(K, decodeRecord(storage.get(MAIN, K)!)).doc!;
}

describe('document tables stored apart (issue #5)', () => {
  it('[CRDT12] a keyed update writes the document row, one table row and the count, however large the table', async () => {
    const storage = metered(new MemoryStorage());
    const tables = new DocumentTables(storage, ROWS, 10_000);
    const cost: { ops: number; bytes: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      await update(storage, tables, `key-${String(i).padStart(6, '0')}`, T0 + i);
      if (i === 10 || i === 2999) cost.push(storage.last);
    }
    expect(cost[0]!.ops).toBe(3);
    expect(cost[1]!.ops).toBe(3);
    // The row grows with the table's causal context (a few bytes), not with the table.
    expect(cost[1]!.bytes).toBeLessThan(cost[0]!.bytes + 64);
    expect(cost[1]!.bytes).toBeLessThan(1024);
    const doc = full(storage, tables);
    expect(doc.idempotency.applied.size).toBe(3000);
    // A retry of any remembered key is a duplicate and writes nothing.
    expect(update(storage, tables, 'key-000007', T0 + 5000)).toBeUndefined();
  });

  it('[CRDT8] past keysMax + 10% the oldest rows are swept; at least the newest keysMax stay', async () => {
    const storage = new MemoryStorage();
    const tables = new DocumentTables(storage, ROWS, 20);
    for (let i = 0; i < 100; i++) {
      await update(storage, tables, `k${String(i).padStart(3, '0')}`, T0 + i);
      const keys = [...full(storage, tables).idempotency.applied.keys()].sort();
      expect(keys.length).toBeLessThanOrEqual(22);
      expect(keys.length).toBeGreaterThanOrEqual(Math.min(i + 1, 20));
      // The newest 20 are always there.
      for (let j = Math.max(0, i - 19); j <= i; j++) expect(keys).toContain(`k${String(j).padStart(3, '0')}`);
    }
    // The count row agrees with the rows.
    expect([...storage.range(ROWS, { gte: `${K}\u0000`, lt: `${K}\u0001` })].length).toBe(full(storage, tables).idempotency.applied.size);
    expect(documentRowText(full(storage, tables))).toContain('"likes"');
  });

  it('[CRDT8] an expired entry no longer dedups; its row goes when touched or by the sweep a tenth of the window later', async () => {
    const storage = new MemoryStorage();
    const tables = new DocumentTables(storage, ROWS, 100);
    await update(storage, tables, 'old', T0);
    await update(storage, tables, 'other', T0);
    const late = T0 + idempotencyRetentionMs + 1;
    await update(storage, tables, 'old', late); // counts again, replacing the expired row
    await update(storage, tables, 'new', late);
    expect([...full(storage, tables).idempotency.applied.keys()].sort()).toEqual(['new', 'old', 'other']);
    expect(documentView(full(storage, tables)).likes).toBe(4);
    await update(storage, tables, 'newer', T0 + idempotencyRetentionMs * 1.1 + 1);
    expect([...full(storage, tables).idempotency.applied.keys()].sort()).toEqual(['new', 'newer', 'old']);
  });

  it('a whole-table read sees rows whose write is still in flight (storage ranges see them, ST3)', async () => {
    const path = await mkdtemp(join(tmpdir(), 'nosqldb-doctables-'));
    const storage = LmdbStorage.open({ path });
    try {
      const tables = new DocumentTables(storage, ROWS, 100);
      await update(storage, tables, 'a', T0);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        writes.push(update(storage, tables, `b${i}`, T0 + 1 + i)!);
        // Every table dot the row names must come with its entry, in flight or not (CRDT12).
        expect(full(storage, tables).idempotency.applied.size).toBe(i + 2);
      }
      await Promise.all(writes);
      expect(full(storage, tables).idempotency.applied.size).toBe(21);
    } finally {
      await storage.close();
      await rm(path, { recursive: true, force: true });
    }
  });

  it('a document stored with its table inline (before tables had rows) is read whole and moved to rows on its next write', async () => {
    const storage = new MemoryStorage();
    const tables = new DocumentTables(storage, ROWS, 100);
    let doc = emptyDocument();
    for (const key of ['x', 'y']) doc = applyPatch(doc, inc, { actor: 'n2', nowMs: T0, idempotencyKey: key }).state;
    await storage.write([{ type: 'put', table: MAIN, key: K, value: encodeRecord({ context: emptyVector(), siblings: [], doc }) }]);
    expect(JSON.stringify(encodeDocument(full(storage, tables)))).toBe(JSON.stringify(encodeDocument(doc)));
    expect(update(storage, tables, 'x', T0 + 1)).toBeUndefined(); // remembered inline
    await update(storage, tables, 'z', T0 + 2);
    expect(decodeRecord(storage.get(MAIN, K)!).doc!.idempotency.applied.size).toBe(0);
    expect([...full(storage, tables).idempotency.applied.keys()].sort()).toEqual(['x', 'y', 'z']);
    expect(tables.removeOps(K).length).toBe(4); // three rows and the count
  });
});

describe('hints of documents (issue #5)', () => {
  const delta = (key: string, i: number, base: DocumentState): { state: DocumentState; record: VersionedRecord } => {
    const r = applyPatch(base, inc, { actor: 'n1', nowMs: T0 + i, idempotencyKey: key });
    return { state: r.state, record: { context: emptyVector(), siblings: [], doc: r.delta } };
  };

  it('[HH1] a hint gathers a document\'s deltas in rows; delivered rows go even if the hint changed in flight', async () => {
    const storage = metered(new MemoryStorage());
    const hints = new HintStore(storage, 100, { keysMax: 10_000, now: () => T0 });
    let state = emptyDocument();
    for (let i = 0; i < 500; i++) {
      const d = delta(`k${i}`, i, state);
      state = d.state;
      await hints.store('n3', K, d.record);
    }
    expect(storage.last.ops).toBe(3); // the hint's row, one table row, the count
    const first = hints.batch('n3', 10);
    expect(first.length).toBe(1);
    expect(first[0]!.record.doc!.idempotency.applied.size).toBe(500);
    expect(documentView(first[0]!.record.doc!).likes).toBe(500);
    // One more delta arrives while the batch is in flight: the hint stays, its sent rows go.
    const late = delta('late', 600, state);
    await hints.store('n3', K, late.record);
    expect(await hints.removeDelivered('n3', first)).toBe(0);
    const second = hints.batch('n3', 10);
    expect([...second[0]!.record.doc!.idempotency.applied.keys()]).toEqual(['late']);
    expect(documentView(second[0]!.record.doc!).likes).toBe(501);
    expect(await hints.removeDelivered('n3', second)).toBe(1);
    expect(hints.pending().total).toBe(0);
    expect(storage.count('hint-tables')).toBe(0);
  });
});
