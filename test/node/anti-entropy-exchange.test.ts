import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/seeded-random.ts';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';
import { coordinateWrite, type VersionedRecord } from '../../src/core/siblings.ts';
import { emptyVector } from '../../src/core/version-vector.ts';
import { MerkleTree } from '../../src/core/merkle/merkle-tree.ts';
import { lookupBySegment, runExchange } from '../../src/core/merkle/run-exchange.ts';
import type { AeMessage } from '../../src/core/merkle/messages.ts';
import { encodeFrame, FrameDecoder } from '../../src/transport/frame-codec.ts';
import { aeReplyFromWire, aeRequestFromWire, aeToWire } from '../../src/node/anti-entropy-wire.ts';
import { encodeRecord } from '../../src/node/record-codec.ts';
import type { AntiEntropy } from '../../src/node/anti-entropy.ts';
import { localDigest } from '../../src/node/anti-entropy-reaper.ts';
import type { KvNode } from '../../src/node/kv-node.ts';

const throughFrame = (m: unknown): unknown => new FrameDecoder().push(encodeFrame(m))[0];

describe('anti-entropy wire form', () => {
  it('[AEW1] every exchange message survives the transport codec (typed arrays included)', () => {
    const a = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i}`,
      digest: i % 7 === 0 ? 'x' : 'v',
    }));
    const b = Array.from({ length: 300 }, (_, i) => ({ key: `k${i + 20}`, digest: 'v' }));
    const run = runExchange(
      MerkleTree.fromEntries(a, 6),
      lookupBySegment(a, 6),
      MerkleTree.fromEntries(b, 6),
      lookupBySegment(b, 6),
      {
        limits: {
          levelsPerRequestMax: 2,
          hashesPerMessageMax: 16,
          entriesPerMessageMax: 16,
          keysPerMessageMax: 4,
        },
      },
    );
    const types = new Set<string>();
    run.messages.forEach((m: AeMessage, i) => {
      types.add(m.type);
      const back = throughFrame(aeToWire(m));
      expect(i % 2 === 0 ? aeRequestFromWire(back) : aeReplyFromWire(back)).toEqual(m);
    });
    expect([...types].sort()).toEqual([
      'ae-diff',
      'ae-diff-reply',
      'ae-nodes',
      'ae-nodes-reply',
      'ae-root',
      'ae-root-reply',
    ]);
  });

  it('[AEW2] malformed messages are refused with KV_BAD_REQUEST', () => {
    const bad: unknown[] = [
      null,
      [],
      { type: 'nope' },
      { type: 'ae-root', v: 1, partition: 0, depth: 10, root: { hi: -1, lo: 0 }, level: 4 },
      {
        type: 'ae-diff',
        v: 1,
        partition: 0,
        items: [{ segment: 0, hiFirst: 0, hiLast: 1, hashes: new Uint8Array(3) }],
      },
      { type: 'ae-nodes', v: 1, partition: 0, parentLevel: 0, parents: 'x', level: 4 },
      { type: 'tomb-reap', entries: [['k']] },
    ];
    for (const m of bad)
      expect(() => aeRequestFromWire(m), JSON.stringify(m)).toThrow(
        expect.objectContaining({ code: 'KV_BAD_REQUEST' }),
      );
    expect(() =>
      aeReplyFromWire({ type: 'ae-error', v: 1, partition: 0, reason: 'whatever', message: '' }),
    ).toThrow();
  });
});

let c: TestCluster;
beforeAll(async () => {
  // No periodic rounds: the test decides exactly when the one exchange runs.
  c = await startTestCluster(3, { hintedHandoff: false, antiEntropyIntervalMs: 0 });
}, 60_000);
afterAll(async () => {
  await c?.close();
});

function version(
  local: VersionedRecord | undefined,
  actor: string,
  value: string,
  deleted = false,
): VersionedRecord {
  const seen = local?.context ?? emptyVector();
  return coordinateWrite(local, seen, actor, {
    value: new TextEncoder().encode(value),
    contentType: 'text/plain',
    deleted,
    writtenAtMs: Date.now(),
  }).record;
}
const ae = (node: KvNode): AntiEntropy => node.extension('anti-entropy') as AntiEntropy;

describe('anti-entropy exchange between two nodes', () => {
  it('[AE4] repairs exactly the keys whose versions differ, and sends little more than those records', async () => {
    await waitFor(
      'trees built',
      () => c.nodes.every((n) => Object.keys(ae(n.node).roots()).length === 64),
      10_000,
    );
    const seed = Number(process.env.AE_SEED ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const a = c.nodes[0]!.node;
    const b = c.nodes[2]!.node;
    const planted: Promise<void>[] = [];
    const keys: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const key = `ae4/${seed}/${i}`;
      keys.push(key);
      const base = version(undefined, 'n1', `v${i}`);
      const plant = (n: KvNode, r: VersionedRecord) => planted.push(n.services.mergeLocal(key, r));
      switch (Math.floor(random() * 7)) {
        case 0: // equal on both
          plant(a, base);
          plant(b, base);
          break;
        case 1: // only on a
          plant(a, base);
          break;
        case 2: // only on b
          plant(b, base);
          break;
        case 3: // concurrent versions
          plant(a, base);
          plant(b, version(undefined, 'n3', `w${i}`));
          break;
        case 4: // b is newer
          plant(a, base);
          plant(b, version(base, 'n3', `w${i}`));
          break;
        case 5: // deleted on a, live on b
          plant(a, version(base, 'n1', '', true));
          plant(b, base);
          break;
        default: // on neither
      }
    }
    await Promise.all(planted);
    const digest = (n: KvNode, key: string) => localDigest(n, key) ?? undefined;
    const differing = keys.filter((k) => digest(a, k) !== digest(b, k));
    const expectSend = differing.filter((k) => digest(a, k) !== undefined).length;
    const expectFetch = differing.filter((k) => digest(b, k) !== undefined).length;
    // What has to move: both sides' records of every differing key, per partition.
    const recordBytesOf = new Map<number, number>();
    for (const k of differing) {
      for (const n of [a, b]) {
        const r = n.readLocal(k);
        const p = a.placement(k).partition;
        if (r)
          recordBytesOf.set(p, (recordBytesOf.get(p) ?? 0) + encodeRecord(r).length + k.length);
      }
    }
    const recordBytes = [...recordBytesOf.values()].reduce((x, y) => x + y, 0);
    const res = await fetch(`${c.url(0)}/admin/anti-entropy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ peer: 'n3' }),
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as {
      keysSent: number;
      keysFetched: number;
      bytes: number;
      failed: number;
      partitionsCompared: number;
      exchanges: { partition: number; bytes: number }[];
    };
    console.log(
      `[AE4] seed ${seed}: ${differing.length} differing keys (${recordBytes} record bytes); sent ${report.keysSent}, fetched ${report.keysFetched}, ${report.bytes} bytes on the wire`,
    );
    expect(report.failed).toBe(0);
    expect(report.partitionsCompared).toBe(64);
    expect({ sent: report.keysSent, fetched: report.keysFetched }).toEqual({
      sent: expectSend,
      fetched: expectFetch,
    });
    for (const k of keys) expect(digest(a, k), k).toBe(digest(b, k));
    expect(ae(a).roots()).toEqual(ae(b).roots());
    // Issue 4, acceptance 2: an exchange sends at most 3x the differing records plus 64 KiB.
    for (const x of report.exchanges)
      expect(x.bytes, `partition ${x.partition}`).toBeLessThanOrEqual(
        3 * (recordBytesOf.get(x.partition) ?? 0) + 64 * 1024,
      );
    // Nothing left: a second exchange finds no difference.
    const again = (await (
      await fetch(`${c.url(0)}/admin/anti-entropy`, {
        method: 'POST',
        body: '{"peer":"n3"}',
        headers: { 'content-type': 'application/json' },
      })
    ).json()) as { keysSent: number; keysFetched: number };
    expect(again.keysSent + again.keysFetched).toBe(0);
  }, 60_000);

  it('[AE6] a rebuild from storage reproduces the incrementally maintained trees', async () => {
    const ext = ae(c.nodes[0]!.node);
    const before = ext.roots();
    const { partitions, drifted } = await ext.rebuild();
    expect(partitions).toBe(64);
    expect(drifted).toEqual([]);
    expect(ext.roots()).toEqual(before);
  }, 30_000);
});
