import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentRowText } from '../../src/core/crdt/index.ts';
import { DOC_TABLES_TABLE } from '../../src/node/storage-layout.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';

/**
 * Reads of CRDT documents (issue #5): a GET answers from the replicas' document rows and never
 * reads an idempotency table, yet read repair still brings a stale replica the whole table, and
 * an answer still counts a key applied by two replicas that never met once (CRDT7, CRDT12).
 * Three in-process nodes; no anti-entropy and no hints, so read repair is the only way stale
 * replicas converge here.
 */
let c: TestCluster;
/** Reads of the idempotency tables' storage, per node (index 0 = n1); `tableScans`: whole tables. */
const tableReads = [0, 0, 0];
const tableScans = [0, 0, 0];

function counting(inner: Storage, i: number): Storage {
  return {
    get: (t, k) => {
      if (t === DOC_TABLES_TABLE) tableReads[i]!++;
      return inner.get(t, k);
    },
    range: (t, o) => {
      if (t === DOC_TABLES_TABLE) tableReads[i]!++;
      if (t === DOC_TABLES_TABLE) tableScans[i]!++;
      return inner.range(t, o);
    },
    count: (t) => inner.count(t),
    write: (ops) => inner.write(ops),
    close: () => inner.close(),
  };
}

beforeAll(async () => {
  c = await startTestCluster(3, { hintedHandoff: false, antiEntropyIntervalMs: 0 }, undefined, (i) => counting(new MemoryStorage(), i - 1));
}, 30_000);

afterAll(async () => {
  await c?.close();
});

const encoder = new TextEncoder();

function inc(i: number, key: string, idempotencyKey: string, w: number): Promise<unknown> {
  return c.nodes[i]!.node.write({
    kind: 'patch',
    key,
    value: encoder.encode(JSON.stringify({ likes: { $inc: 1 } })),
    contentType: 'application/json',
    idempotencyKey,
    context: null,
    w,
    timeoutMs: 5000,
    hops: 0,
  });
}

async function getJson(i: number, key: string, query: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${c.url(i)}/kv/${key}${query}`);
  return { status: r.status, body: await r.json() };
}

/** The whole state a replica holds: its row and its table's keys. */
function replicaState(i: number, key: string): { row: string; keys: string[] } | undefined {
  const doc = c.nodes[i]!.node.readLocal(key)?.doc;
  return doc ? { row: documentRowText(doc), keys: [...doc.idempotency.applied.keys()].sort() } : undefined;
}

function isolate(i: number): void {
  const ids = ['n1', 'n2', 'n3'];
  c.nodes[i]!.faults.setFaults({ isolate: ids.filter((_, j) => j !== i) });
  for (let j = 0; j < 3; j++) if (j !== i) c.nodes[j]!.faults.setFaults({ isolate: [ids[i]!] });
}

function heal(): void {
  for (const n of c.nodes) n.faults.clearFaults();
}

/** A quorum read of all three replicas, retried until every replica is seen up again. */
async function readAll(i: number, key: string): Promise<unknown> {
  let body: unknown;
  await waitFor('a quorum read of all replicas', async () => {
    const r = await getJson(i, key, '?r=3');
    body = r.body;
    return r.status === 200;
  }, 20_000);
  return body;
}

describe('reads of documents (issue #5)', () => {
  it('[CRDT12] GET answers the view of a document with a large table without reading the table', async () => {
    const KEYS = 2000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < KEYS) await inc(next % 3, 'big', `k-${next++}`, 3);
      }),
    );
    for (let i = 0; i < 3; i++) expect(replicaState(i, 'big')?.keys.length).toBe(KEYS);
    const repairs = c.nodes.map((n) => n.node.stats.readRepairs);
    tableReads.fill(0);
    for (let i = 0; i < 3; i++) {
      for (const query of ['?r=2', '?r=3', '?local=true']) {
        const r = await getJson(i, 'big', query);
        expect(r.status).toBe(200);
        expect(r.body).toEqual({ likes: KEYS });
      }
    }
    expect(c.nodes.map((n) => n.node.stats.readRepairs)).toEqual(repairs);
    expect(tableReads).toEqual([0, 0, 0]);
    // The count is live: a full-state read (what transfers use) does read the table.
    c.nodes[0]!.node.readLocal('big');
    expect(tableReads[0]).toBeGreaterThan(0);
  }, 60_000);

  it('[CRDT12] read repair brings a stale replica the whole table, through a fresh or a stale coordinator', async () => {
    let written = 0;
    for (const via of [0, 2]) {
      // n3 misses 30 keyed updates...
      isolate(2);
      for (let k = 0; k < 30; k++) await inc(k % 2, 'repaired', `r-${written++}`, 2);
      expect(replicaState(2, 'repaired')?.keys.length ?? 0).toBeLessThan(written);
      heal();
      // ...and a quorum read through n1 (fresh), then through n3 itself (stale), repairs it.
      expect(await readAll(via, 'repaired')).toEqual({ likes: written });
      const want = replicaState(0, 'repaired');
      expect(want?.keys.length).toBe(written);
      await waitFor('the stale replica repaired, table included', () => JSON.stringify(replicaState(2, 'repaired')) === JSON.stringify(want), 10_000);
      expect((await getJson(2, 'repaired', '?local=true')).body).toEqual({ likes: written });
    }
  }, 60_000);

  it('[CRDT7] a key applied by two replicas that never met counts once in the answer and, once repaired, everywhere', async () => {
    // n1 applies `dup` alone; n2 (not knowing it) applies the retry and replicates it to n3.
    tableScans.fill(0);
    isolate(0);
    await inc(0, 'twice', 'dup', 1);
    await inc(1, 'twice', 'dup', 2);
    heal();
    // The rows alone would count it twice: neither holds the other's application.
    expect((await getJson(0, 'twice', '?local=true')).body).toEqual({ likes: 1 });
    expect((await getJson(1, 'twice', '?local=true')).body).toEqual({ likes: 1 });
    expect(await readAll(0, 'twice')).toEqual({ likes: 1 });
    await waitFor('every replica compensated', async () => {
      const views = await Promise.all([0, 1, 2].map(async (i) => (await getJson(i, 'twice', '?local=true')).body));
      return views.every((v) => JSON.stringify(v) === JSON.stringify({ likes: 1 }));
    }, 10_000);
    // Answer and repair took the replicas' novel entries (document-reads.ts), not their tables.
    expect(tableScans).toEqual([0, 0, 0]);
    for (let i = 0; i < 3; i++) expect(c.nodes[i]!.node.readLocal('twice')?.doc?.idempotency.applied.get('dup')).toHaveLength(2);
  }, 60_000);
});
