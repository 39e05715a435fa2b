/**
 * An in-memory two-party driver: replica A initiates, replica B answers, every message is
 * delivered at once and counted. Used by tests and benchmarks; a node drives the same
 * `startExchange` / `receiveReply` / `answerRequest` over its transport instead.
 */
import type { Key, PartitionIndex } from '../types.ts';
import { answerRequest } from './answer-request.ts';
import type { EntryLookup } from './entry-hashes.ts';
import {
  exchangeLimitsDefault,
  receiveReply,
  startExchange,
  type ExchangeLimits,
} from './exchange.ts';
import type { MerkleTree, SegmentEntry } from './merkle-tree.ts';
import { segmentOf } from './merkle-tree.ts';
import { messageBytes, type AeMessage } from './messages.ts';

export interface ExchangeRun {
  readonly keysToSend: Key[];
  readonly keysToFetch: Key[];
  readonly segmentsDiffering: number;
  /** Every message in order, requests and replies alternating. */
  readonly messages: AeMessage[];
  /** Sum of `messageBytes` over `messages`. */
  readonly bytes: number;
  /** Requests sent (each answered by one reply). */
  readonly roundTrips: number;
}

/**
 * A hard stop for the driver: an exchange takes O(depth + pages) round trips, so this many means
 * the state machine is not advancing (a bug, not a large store).
 */
const roundTripsMax = 1_000_000;

export function runExchange(
  treeA: MerkleTree,
  entriesA: EntryLookup,
  treeB: MerkleTree,
  entriesB: EntryLookup,
  options: { partition?: PartitionIndex; limits?: ExchangeLimits } = {},
): ExchangeRun {
  const limits = options.limits ?? exchangeLimitsDefault;
  const messages: AeMessage[] = [];
  let bytes = 0;
  const record = (m: AeMessage): void => {
    messages.push(m);
    bytes += messageBytes(m);
  };
  const first = startExchange(options.partition ?? 0, treeA, limits);
  let state = first.state;
  let request = first.message as AeMessage & { type: 'ae-root' | 'ae-nodes' | 'ae-diff' };
  for (let trips = 1; trips <= roundTripsMax; trips++) {
    record(request);
    const reply = answerRequest(treeB, entriesB, request, limits);
    record(reply);
    const step = receiveReply(state, treeA, entriesA, reply);
    switch (step.kind) {
      case 'send':
        state = step.state;
        request = step.message;
        break;
      case 'done':
        return { ...step.result, messages, bytes, roundTrips: trips };
      case 'failed':
        throw new Error(`anti-entropy exchange failed: ${step.reason}`);
    }
  }
  throw new Error(`anti-entropy exchange did not finish in ${roundTripsMax} round trips`);
}

/** A segment → entries lookup over a plain list (what tests and start-up rebuilds have). */
export function lookupBySegment(entries: Iterable<SegmentEntry>, depth: number): EntryLookup {
  const bySegment = new Map<number, SegmentEntry[]>();
  for (const e of entries) {
    const s = segmentOf(e.key, depth);
    const list = bySegment.get(s);
    if (list === undefined) bySegment.set(s, [e]);
    else list.push(e);
  }
  return (segment) => bySegment.get(segment) ?? [];
}
