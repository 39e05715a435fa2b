/**
 * The anti-entropy exchange between two replicas of one partition (Dynamo §4.7), sans I/O: the
 * initiator is a small state machine — `startExchange` returns the first request,
 * `receiveReply` takes the responder's reply and returns the next request or the result —
 * and the responder is one pure, stateless function, `answerRequest` (automerge's
 * generateSyncMessage / receiveSyncMessage split; the responder lives in answer-request.ts).
 * The node owns transport, retries and timeouts.
 *
 * Protocol (version 1; messages in messages.ts; rules AE0..AE9 in docs/SPEC.md):
 *  1. Root. The initiator sends its root and asks for level k0 = min(levelsPerRequestMax, depth).
 *     Equal roots → `match` and the exchange ends: one round trip of two small messages.
 *     Otherwise the responder sends its whole level k0 (2^k0 hashes, 128 B at k0 = 4).
 *  2. Descent. The initiator compares and keeps the mismatching nodes M of the level it holds,
 *     then asks for their descendants k levels further down in one request (`ae-nodes`), k as
 *     large as `levelsPerRequestMax` allows while |M|·2^k ≤ `hashesPerMessageMax`; if even k = 1
 *     is too large, M is paged over several requests. A stride of 4 costs 4 hashes per level per
 *     differing path (binary descent costs 2) but a quarter of the round trips: depth 10 takes
 *     the root round trip (which returns level 4) and 2 more (→8, →10). Descent ends at the
 *     leaves with the differing segments S.
 *  3. Diff. The initiator sends, per segment of S, the 8-byte entry hashes H(key‖digest) of its
 *     entries (`ae-diff`, paged at `entriesPerMessageMax`; a segment too large for one page is
 *     split by ranges of the hash's high half). The responder answers with the keys of its own
 *     entries whose hash the initiator did not send (initiator fetches them) and the initiator's
 *     hashes it does not hold (initiator maps them back to its keys and sends them), at most
 *     `keysPerMessageMax` keys per reply, continued with a cursor. Sending hashes rather than
 *     (key, digest) lists keeps bytes for equal entries at 8 each; keys cross the wire only for
 *     entries that actually differ.
 *  Result: `keysToSend` = keys whose (key, version) the initiator holds and the responder lacks;
 *  `keysToFetch` = the converse. A key whose versions differ is in both; the node ships and
 *  fetches the records and merges them with the normal version-vector rules.
 *
 * Trees and stores may change during an exchange (writes go on); an exchange then reports what
 * it saw, and the next round catches the rest. A 64-bit XOR collision hides a difference with
 * probability ~2^-64 per compared node.
 */
import type { Key, PartitionIndex } from '../types.ts';
import {
  compareCursor,
  hashedEntries,
  hiMax,
  packHashes,
  type EntryLookup,
  type HashedEntry,
} from './entry-hashes.ts';
import type { MerkleTree } from './merkle-tree.ts';
import {
  aeProtocolVersion,
  type AeCursor,
  type AeDiff,
  type AeDiffItem,
  type AeReply,
  type AeRequest,
  type AeRoot,
} from './messages.ts';

export interface ExchangeLimits {
  /** Levels one descent request may skip: 4 → 16 hashes per mismatching node per request. */
  readonly levelsPerRequestMax: number;
  /** Node hashes per message (8 B each). */
  readonly hashesPerMessageMax: number;
  /** Entry hashes plus segment items per `ae-diff` (8 B per hash). */
  readonly entriesPerMessageMax: number;
  /** Keys per `ae-diff-reply` (each up to 512 B, CONTRACT §3). */
  readonly keysPerMessageMax: number;
}

export const exchangeLimitsDefault: ExchangeLimits = {
  // Depth 10 in 3 round trips (root→4, →8, →10) at twice the bytes of a binary descent (see protocol §2).
  levelsPerRequestMax: 4,
  // 32 KiB of hashes: a whole depth-12 level, or 256 mismatching nodes 4 levels down.
  hashesPerMessageMax: 4096,
  // 32 KiB of entry hashes: ~40 segments at 100k keys in one depth-10 tree.
  entriesPerMessageMax: 4096,
  // At most 512 KiB of keys even when every key is 512 bytes.
  keysPerMessageMax: 1024,
};

export interface ExchangeResult {
  /** Keys whose version here is absent on the responder: ship these records to it. */
  readonly keysToSend: Key[];
  /** Keys whose version on the responder is absent here: fetch and merge these records. */
  readonly keysToFetch: Key[];
  /** Leaf segments whose hashes differed. */
  readonly segmentsDiffering: number;
}

interface Common {
  readonly partition: PartitionIndex;
  readonly depth: number;
  readonly limits: ExchangeLimits;
}

interface Page {
  readonly items: readonly AeDiffItem[];
  /**
   * The entries whose hashes the page carries, in the order sent (items in order, each sorted by
   * hash), to map `missing` — a subsequence of that order — back to keys.
   */
  readonly sent: readonly HashedEntry[];
  readonly nextSegmentIndex: number;
  readonly nextHiFirst: number;
  readonly after: AeCursor | undefined;
}

/** The initiator's state: plain data, replaced (never mutated) by each step. */
export type InitiatorState =
  | (Common & { readonly phase: 'root'; readonly level: number })
  | (Common & {
      readonly phase: 'descend';
      readonly parentLevel: number;
      readonly parents: readonly number[];
      readonly offset: number;
      readonly chunk: number;
      readonly level: number;
      readonly found: readonly number[];
    })
  | (Common & {
      readonly phase: 'diff';
      readonly segments: readonly number[];
      readonly page: Page;
      readonly keysToSend: readonly Key[];
      readonly keysToFetch: readonly Key[];
    })
  | (Common & { readonly phase: 'over' });

export type ExchangeStep =
  | { readonly kind: 'send'; readonly state: InitiatorState; readonly message: AeRequest }
  | { readonly kind: 'done'; readonly state: InitiatorState; readonly result: ExchangeResult }
  | { readonly kind: 'failed'; readonly state: InitiatorState; readonly reason: string };

function assertLimits(l: ExchangeLimits): void {
  const ok =
    Number.isInteger(l.levelsPerRequestMax) &&
    l.levelsPerRequestMax >= 1 &&
    Number.isInteger(l.hashesPerMessageMax) &&
    l.hashesPerMessageMax >= 2 &&
    Number.isInteger(l.entriesPerMessageMax) &&
    l.entriesPerMessageMax >= 2 &&
    Number.isInteger(l.keysPerMessageMax) &&
    l.keysPerMessageMax >= 1;
  if (!ok) throw new RangeError(`invalid exchange limits ${JSON.stringify(l)}`);
}

/** Begins an exchange for `partition`: returns the first request (the root). */
export function startExchange(
  partition: PartitionIndex,
  tree: MerkleTree,
  limits: ExchangeLimits = exchangeLimitsDefault,
): { state: InitiatorState; message: AeRoot } {
  assertLimits(limits);
  let level = Math.min(limits.levelsPerRequestMax, tree.depth);
  while (level > 1 && 2 ** level > limits.hashesPerMessageMax) level--;
  const common = { partition, depth: tree.depth, limits };
  return {
    state: { ...common, phase: 'root', level },
    message: {
      type: 'ae-root',
      v: aeProtocolVersion,
      partition,
      depth: tree.depth,
      root: tree.root(),
      level,
    },
  };
}

function common(s: InitiatorState): Common {
  return { partition: s.partition, depth: s.depth, limits: s.limits };
}

function over(s: InitiatorState): InitiatorState {
  return { ...common(s), phase: 'over' };
}

function done(
  s: InitiatorState,
  keysToSend: readonly Key[],
  keysToFetch: readonly Key[],
  segments: number,
): ExchangeStep {
  return {
    kind: 'done',
    state: over(s),
    result: {
      keysToSend: [...keysToSend],
      keysToFetch: [...keysToFetch],
      segmentsDiffering: segments,
    },
  };
}

function fail(s: InitiatorState, reason: string): ExchangeStep {
  return { kind: 'failed', state: over(s), reason };
}

/** Advances the initiator with the responder's reply. */
export function receiveReply(
  state: InitiatorState,
  tree: MerkleTree,
  entries: EntryLookup,
  reply: AeReply,
): ExchangeStep {
  if (reply.type === 'ae-error') return fail(state, `${reply.reason}: ${reply.message}`);
  if (reply.v !== aeProtocolVersion || reply.partition !== state.partition) {
    return fail(state, 'reply for another protocol version or partition');
  }
  if (tree.depth !== state.depth) return fail(state, 'tree depth changed during the exchange');
  switch (state.phase) {
    case 'root': {
      if (reply.type !== 'ae-root-reply')
        return fail(state, `expected ae-root-reply, got ${reply.type}`);
      if (reply.match) return done(state, [], [], 0);
      if (reply.level !== state.level || reply.hashes.length !== 2 * 2 ** state.level) {
        return fail(state, 'ae-root-reply has the wrong level or hash count');
      }
      const found = mismatches(tree, 0, [0], state.level, reply.hashes, []);
      return afterLevel(common(state), state.level, found, entries);
    }
    case 'descend': {
      if (reply.type !== 'ae-nodes-reply')
        return fail(state, `expected ae-nodes-reply, got ${reply.type}`);
      const parents = state.parents.slice(state.offset, state.offset + state.chunk);
      const span = 2 ** (state.level - state.parentLevel);
      if (reply.level !== state.level || reply.hashes.length !== 2 * parents.length * span) {
        return fail(state, 'ae-nodes-reply has the wrong level or hash count');
      }
      const found = mismatches(
        tree,
        state.parentLevel,
        parents,
        state.level,
        reply.hashes,
        state.found,
      );
      const offset = state.offset + parents.length;
      if (offset < state.parents.length) {
        const next = { ...state, offset, found };
        return { kind: 'send', state: next, message: nodesRequest(next) };
      }
      return afterLevel(common(state), state.level, found, entries);
    }
    case 'diff': {
      if (reply.type !== 'ae-diff-reply')
        return fail(state, `expected ae-diff-reply, got ${reply.type}`);
      return afterDiffReply(state, entries, reply);
    }
    case 'over':
      return fail(state, 'the exchange is over');
  }
}

/** Indices at `level` below `parents` whose hash here differs from the peer's. */
function mismatches(
  tree: MerkleTree,
  parentLevel: number,
  parents: readonly number[],
  level: number,
  hashes: Uint32Array,
  found: readonly number[],
): number[] {
  const span = 2 ** (level - parentLevel);
  const out = [...found];
  let w = 0;
  for (const p of parents) {
    for (let j = 0; j < span; j++, w += 2) {
      const index = p * span + j;
      if (!tree.nodeEquals(level, index, hashes[w]!, hashes[w + 1]!)) out.push(index);
    }
  }
  return out;
}

function nodesRequest(s: Extract<InitiatorState, { phase: 'descend' }>): AeRequest {
  return {
    type: 'ae-nodes',
    v: aeProtocolVersion,
    partition: s.partition,
    parentLevel: s.parentLevel,
    parents: s.parents.slice(s.offset, s.offset + s.chunk),
    level: s.level,
  };
}

/** Having compared a whole level: descend further, start the diff, or finish. */
function afterLevel(
  c: Common,
  level: number,
  found: readonly number[],
  entries: EntryLookup,
): ExchangeStep {
  if (found.length === 0) {
    // Every compared node matched: the peer's tree changed between requests. Nothing to do.
    return done({ ...c, phase: 'over' }, [], [], 0);
  }
  if (level === c.depth) return startDiff(c, found, entries);
  let k = Math.min(c.limits.levelsPerRequestMax, c.depth - level);
  while (k > 1 && found.length * 2 ** k > c.limits.hashesPerMessageMax) k--;
  const chunk = Math.max(1, Math.floor(c.limits.hashesPerMessageMax / 2 ** k));
  const next = {
    ...c,
    phase: 'descend' as const,
    parentLevel: level,
    parents: found,
    offset: 0,
    chunk,
    level: level + k,
    found: [],
  };
  return { kind: 'send', state: next, message: nodesRequest(next) };
}

function startDiff(c: Common, segments: readonly number[], entries: EntryLookup): ExchangeStep {
  const page = buildPage(c, segments, 0, 0, entries);
  const state = { ...c, phase: 'diff' as const, segments, page, keysToSend: [], keysToFetch: [] };
  return { kind: 'send', state, message: diffRequest(state) };
}

function diffRequest(s: Extract<InitiatorState, { phase: 'diff' }>): AeDiff {
  const after = s.page.after;
  if (after === undefined)
    return { type: 'ae-diff', v: aeProtocolVersion, partition: s.partition, items: s.page.items };
  // A continuation only needs the items the cursor has not passed.
  const items = s.page.items.filter(
    (i) => i.segment > after.segment || (i.segment === after.segment && i.hiLast >= after.hi),
  );
  return { type: 'ae-diff', v: aeProtocolVersion, partition: s.partition, items, after };
}

function afterDiffReply(
  state: Extract<InitiatorState, { phase: 'diff' }>,
  entries: EntryLookup,
  reply: Extract<AeReply, { type: 'ae-diff-reply' }>,
): ExchangeStep {
  if (reply.missing.length % 2 !== 0 || reply.keys.length > state.limits.keysPerMessageMax) {
    return fail(state, 'malformed ae-diff-reply');
  }
  const keysToSend = [...state.keysToSend];
  const sent = state.page.sent;
  let at = 0;
  for (let w = 0; w < reply.missing.length; w += 2) {
    const hi = reply.missing[w]!;
    const lo = reply.missing[w + 1]!;
    while (at < sent.length && (sent[at]!.hi !== hi || sent[at]!.lo !== lo)) at++;
    if (at === sent.length) return fail(state, 'ae-diff-reply names a hash that was not sent');
    keysToSend.push(sent[at]!.key);
    at++;
  }
  const keysToFetch = [...state.keysToFetch, ...reply.keys];
  if (reply.next !== undefined) {
    const prev = state.page.after;
    if (reply.keys.length === 0 || (prev !== undefined && compareCursor(reply.next, prev) <= 0)) {
      return fail(state, 'ae-diff-reply cursor does not advance');
    }
    const next = { ...state, page: { ...state.page, after: reply.next }, keysToSend, keysToFetch };
    return { kind: 'send', state: next, message: diffRequest(next) };
  }
  if (state.page.nextSegmentIndex >= state.segments.length) {
    return done(state, keysToSend, keysToFetch, state.segments.length);
  }
  const page = buildPage(
    state,
    state.segments,
    state.page.nextSegmentIndex,
    state.page.nextHiFirst,
    entries,
  );
  const next = { ...state, page, keysToSend, keysToFetch };
  return { kind: 'send', state: next, message: diffRequest(next) };
}

/**
 * The next `ae-diff` page from segment `segments[index]`, high-half hash `hiFirst` onwards:
 * whole segments while items + hashes ≤ entriesPerMessageMax; a segment that alone exceeds it is
 * cut at a high-half boundary (all entries sharing one high half stay together, so a page can
 * overflow only on a 32-bit collision inside one segment).
 */
function buildPage(
  c: Common,
  segments: readonly number[],
  index: number,
  hiFirst: number,
  entries: EntryLookup,
): Page {
  const max = c.limits.entriesPerMessageMax;
  const items: AeDiffItem[] = [];
  const sent: HashedEntry[] = [];
  let cost = 0;
  const take = (
    segment: number,
    first: number,
    last: number,
    list: readonly HashedEntry[],
  ): void => {
    items.push({ segment, hiFirst: first, hiLast: last, hashes: packHashes(list) });
    sent.push(...list);
    cost += 1 + list.length;
  };
  while (index < segments.length) {
    const segment = segments[index]!;
    const list = hashedEntries(segment, c.depth, hiFirst, hiMax, entries);
    if (cost + 1 + list.length <= max) {
      take(segment, hiFirst, hiMax, list);
      index++;
      hiFirst = 0;
      continue;
    }
    if (items.length > 0) break;
    const first = list[0]!;
    let boundary = list[max - 1]!.hi;
    if (boundary === first.hi) boundary = first.hi + 1;
    if (boundary > hiMax) {
      take(segment, hiFirst, hiMax, list);
      index++;
      hiFirst = 0;
      break;
    }
    take(
      segment,
      hiFirst,
      boundary - 1,
      list.filter((e) => e.hi < boundary),
    );
    hiFirst = boundary;
    break;
  }
  return { items, sent, nextSegmentIndex: index, nextHiFirst: hiFirst, after: undefined };
}
