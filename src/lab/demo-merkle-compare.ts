import { KvError } from '../core/errors.ts';
import { segmentOf } from '../core/merkle/merkle-tree.ts';
import type { DemoLive } from './demo-live.ts';
import { demoNodes, getJson, readLocal, stableJson, xorHex } from './demo-node-io.ts';
import type { LabController } from './lab-controller.ts';
import type { MerkleCompare, MerkleCompareKey, MerkleCompareNode, MerkleComparePartition } from './demo-types.ts';

/** Tree depth when a node's status does not say (the nodes' default, merkle-tree.ts). */
const DEPTH_DEFAULT = 10;
const KEYS_MAX = 32;
const TIMEOUT_MS = 6000;

/**
 * Compares two nodes' Merkle trees over the partitions holding `keys`, the way an exchange
 * does (Dynamo §4.7): from each partition's root down, only the children of differing nodes,
 * level by level to the leaves (segments), then the watched keys in the differing segments.
 * Nothing is repaired here; this is the picture of what the next exchange will find.
 */
export async function compareMerkle(lab: LabController, live: DemoLive, a: string, b: string, keys: string[]): Promise<MerkleCompare> {
  const nodes = demoNodes(lab);
  const na = nodes.find((n) => n.id === a);
  const nb = nodes.find((n) => n.id === b);
  if (!na || !nb || a === b) throw new KvError('KV_BAD_REQUEST', 'a and b must be two different nodes of the cluster', { field: 'a' });
  const byPartition = new Map<number, string[]>();
  for (const k of keys.slice(0, KEYS_MAX)) {
    const p = live.placement(k);
    if (!p) throw new KvError('KV_UNAVAILABLE', 'the Lab does not know the ring yet');
    byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), k]);
  }
  // All levels: the root and `depth` more (the node's anti-entropy depth, from its status).
  const status = await getJson(`${na.url}/admin/status`, TIMEOUT_MS).catch(() => ({ status: 0, json: null }));
  const aeDepth = (status.json as { antiEntropy?: { depth?: unknown } } | null)?.antiEntropy?.depth;
  const levelsWanted = (typeof aeDepth === 'number' ? aeDepth : DEPTH_DEFAULT) + 1;
  const tree = async (url: string, id: string, p: number): Promise<string[][]> => {
    const { status, json } = await getJson(`${url}/admin/merkle?partition=${p}&depth=${levelsWanted}`, TIMEOUT_MS).catch(() => ({ status: 0, json: null }));
    const levels = (json as { levels?: string[][] } | null)?.levels;
    if (status !== 200 || !levels) throw new KvError('KV_UNAVAILABLE', `${id} did not return its Merkle tree of partition ${p} (${status || 'unreachable'})`, { node: id, partition: p });
    return levels;
  };
  const partitions: MerkleComparePartition[] = [];
  const differingKeys: string[] = [];
  for (const [p, pkeys] of [...byPartition].sort((x, y) => x[0] - y[0])) {
    const [la, lb] = await Promise.all([tree(na.url, a, p), tree(nb.url, b, p)]);
    const depth = Math.min(la.length, lb.length) - 1;
    const { nodes: path, leaves } = diffPath(la, lb, depth);
    const values = await Promise.all(pkeys.map(async (k) => [k, await readLocal(na, k), await readLocal(nb, k)] as const));
    const leafSet = new Set(leaves);
    const keyRows: MerkleCompareKey[] = values.map(([k, va, vb]) => {
      const segment = segmentOf(k, depth);
      // A key in a differing leaf is (almost surely) a differing version: the leaf hashes
      // (key, version) entries. Its visible value may still be equal — two counters with
      // different per-node entries can have the same total — which the page says.
      const differs = leafSet.has(segment);
      if (differs) differingKeys.push(k);
      const withTime = (v: typeof va, id: string) => ({ ...v, changedAtMs: live.values(k)[id]?.changedAtMs ?? Date.now() });
      return { key: k, segment, differs, sameValue: stableJson([va.state, va.value]) === stableJson([vb.state, vb.value]), a: withTime(va, a), b: withTime(vb, b) };
    });
    const keySegments = new Set(keyRows.map((k) => k.segment));
    partitions.push({
      partition: p,
      depth,
      rootA: la[0]?.[0] ?? '',
      rootB: lb[0]?.[0] ?? '',
      nodes: path,
      keys: keyRows,
      otherSegments: leaves.filter((s) => !keySegments.has(s)),
    });
  }
  return {
    a,
    b,
    rootA: xorHex(partitions.map((p) => p.rootA)),
    rootB: xorHex(partitions.map((p) => p.rootB)),
    partitions,
    differingKeys,
    atMs: Date.now(),
  };
}

/** The differing path of two trees given level by level: both children of every differing node. */
export function diffPath(a: readonly (readonly string[])[], b: readonly (readonly string[])[], depth: number): { nodes: MerkleCompareNode[]; leaves: number[] } {
  const nodes: MerkleCompareNode[] = [];
  const ha = a[0]?.[0] ?? '';
  const hb = b[0]?.[0] ?? '';
  nodes.push({ level: 0, index: 0, a: ha, b: hb, differs: ha !== hb });
  let frontier = ha !== hb ? [0] : [];
  let leaves: number[] = depth === 0 ? frontier : [];
  for (let level = 1; level <= depth && frontier.length > 0; level++) {
    const next: number[] = [];
    for (const parent of frontier) {
      for (const index of [2 * parent, 2 * parent + 1]) {
        const x = a[level]?.[index] ?? '';
        const y = b[level]?.[index] ?? '';
        const differs = x !== y;
        nodes.push({ level, index, a: x, b: y, differs });
        if (differs) next.push(index);
      }
    }
    frontier = next;
    if (level === depth) leaves = next;
  }
  return { nodes, leaves };
}
