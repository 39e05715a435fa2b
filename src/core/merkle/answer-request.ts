/**
 * The anti-entropy responder (protocol in exchange.ts): answers one request from this replica's
 * own tree and entries. Stateless, so any request may be retried, duplicated or arrive late, and
 * a responder holds nothing per exchange; requests beyond its limits are refused, never truncated.
 */
import type { Key, PartitionIndex } from '../types.ts';
import {
  compareCursor,
  hashedEntries,
  type EntryLookup,
  type HashedEntry,
} from './entry-hashes.ts';
import { exchangeLimitsDefault, type ExchangeLimits } from './exchange.ts';
import type { MerkleTree } from './merkle-tree.ts';
import {
  aeProtocolVersion,
  type AeCursor,
  type AeDiff,
  type AeDiffItem,
  type AeDiffReply,
  type AeError,
  type AeErrorReason,
  type AeReply,
  type AeRequest,
} from './messages.ts';

/** The item's hashes ascend strictly and lie in its [hiFirst, hiLast] range (merge walks need it). */
function sortedInRange(item: AeDiffItem): boolean {
  const h = item.hashes;
  for (let w = 0; w < h.length; w += 2) {
    if (h[w]! < item.hiFirst || h[w]! > item.hiLast) return false;
    if (w > 0 && (h[w - 2]! > h[w]! || (h[w - 2] === h[w] && h[w - 1]! >= h[w + 1]!))) return false;
  }
  return true;
}

function refuse(partition: PartitionIndex, reason: AeErrorReason, message: string): AeError {
  return { type: 'ae-error', v: aeProtocolVersion, partition, reason, message };
}

function isIndex(n: unknown, bound: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < bound;
}

/**
 * The responder: answers one request from its own tree and entries. Stateless, so any request
 * may be retried or arrive late; requests beyond `limits` are refused, never truncated.
 */
export function answerRequest(
  tree: MerkleTree,
  entries: EntryLookup,
  request: AeRequest,
  limits: ExchangeLimits = exchangeLimitsDefault,
): AeReply {
  const partition = request.partition;
  if (request.v !== aeProtocolVersion)
    return refuse(partition, 'unsupported-version', `protocol v${request.v}`);
  const v = aeProtocolVersion;
  switch (request.type) {
    case 'ae-root': {
      if (request.depth !== tree.depth) {
        return refuse(partition, 'depth-mismatch', `depth ${request.depth} here ${tree.depth}`);
      }
      const { level } = request;
      if (!isIndex(level, tree.depth + 1) || level < 1)
        return refuse(partition, 'bad-request', `level ${level}`);
      if (2 ** level > limits.hashesPerMessageMax)
        return refuse(partition, 'too-large', `level ${level}`);
      if (tree.nodeEquals(0, 0, request.root.hi, request.root.lo)) {
        return {
          type: 'ae-root-reply',
          v,
          partition,
          match: true,
          level,
          hashes: new Uint32Array(0),
        };
      }
      const hashes = new Uint32Array(2 * 2 ** level);
      tree.copyLevel(level, 0, 2 ** level, hashes, 0);
      return { type: 'ae-root-reply', v, partition, match: false, level, hashes };
    }
    case 'ae-nodes': {
      const { parentLevel, level, parents } = request;
      if (
        !isIndex(parentLevel, tree.depth) ||
        !isIndex(level, tree.depth + 1) ||
        level <= parentLevel
      ) {
        return refuse(partition, 'bad-request', `levels ${parentLevel}→${level}`);
      }
      const span = 2 ** (level - parentLevel);
      if (!Array.isArray(parents) || parents.length * span > limits.hashesPerMessageMax) {
        return refuse(partition, 'too-large', `${parents.length} parents × ${span}`);
      }
      const hashes = new Uint32Array(2 * parents.length * span);
      for (let i = 0; i < parents.length; i++) {
        const p = parents[i];
        if (!isIndex(p, 2 ** parentLevel)) return refuse(partition, 'bad-request', `parent ${p}`);
        tree.copyLevel(level, p * span, span, hashes, 2 * i * span);
      }
      return { type: 'ae-nodes-reply', v, partition, level, hashes };
    }
    case 'ae-diff':
      return answerDiff(tree.depth, entries, request, limits);
  }
}

function answerDiff(
  depth: number,
  entries: EntryLookup,
  request: AeDiff,
  limits: ExchangeLimits,
): AeReply {
  const { partition, items, after } = request;
  let cost = 0;
  let previous: AeDiffItem | undefined;
  for (const i of items) {
    cost += 1 + i.hashes.length / 2;
    const ordered =
      previous === undefined ||
      i.segment > previous.segment ||
      (i.segment === previous.segment && i.hiFirst > previous.hiLast);
    if (
      !isIndex(i.segment, 2 ** depth) ||
      !isIndex(i.hiFirst, 2 ** 32) ||
      !isIndex(i.hiLast, 2 ** 32)
    ) {
      return refuse(partition, 'bad-request', `item ${i.segment}`);
    }
    if (i.hiFirst > i.hiLast || i.hashes.length % 2 !== 0 || !ordered || !sortedInRange(i)) {
      return refuse(partition, 'bad-request', `item ${i.segment} out of order or malformed`);
    }
    previous = i;
  }
  if (cost > limits.entriesPerMessageMax) return refuse(partition, 'too-large', `${cost} entries`);

  const keys: Key[] = [];
  const missing: number[] = [];
  let last: AeCursor | undefined;
  let truncated = false;
  // One merge walk per item over two hash-sorted lists. `missing` covers every item even when
  // `keys` is cut short, because continuations omit it.
  const onlyMine: { segment: number; entry: HashedEntry }[] = [];
  for (const item of items) {
    const mine = hashedEntries(item.segment, depth, item.hiFirst, item.hiLast, entries);
    const theirs = item.hashes;
    let m = 0;
    let w = 0;
    while (m < mine.length || w < theirs.length) {
      const e = mine[m];
      const order =
        e === undefined ? 1 : w >= theirs.length ? -1 : e.hi - theirs[w]! || e.lo - theirs[w + 1]!;
      if (order < 0) {
        onlyMine.push({ segment: item.segment, entry: e! });
        m++;
      } else if (order > 0) {
        if (after === undefined) missing.push(theirs[w]!, theirs[w + 1]!);
        w += 2;
      } else {
        m++;
        w += 2;
      }
    }
  }
  for (const { segment, entry } of onlyMine) {
    const at = { segment, hi: entry.hi, lo: entry.lo };
    if (after !== undefined && compareCursor(at, after) <= 0) continue;
    if (keys.length === limits.keysPerMessageMax) {
      truncated = true;
      break;
    }
    keys.push(entry.key);
    last = at;
  }
  const reply: AeDiffReply = {
    type: 'ae-diff-reply',
    v: aeProtocolVersion,
    partition,
    keys,
    missing: Uint32Array.from(missing),
  };
  // `next` is the last key sent: the continuation resumes strictly after it.
  return truncated && last !== undefined ? { ...reply, next: last } : reply;
}
