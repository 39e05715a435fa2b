/**
 * Quorum reads of CRDT documents whose replicas are concurrent (issue #5). Replicas answer reads
 * with views: a document's row without its idempotency table (`KvNode.readView`), which is all
 * `documentView` needs. Merging views gives the answer merging full states would, except for one
 * thing: a key applied by two coordinators that had not seen each other's application (a retry
 * after a crash) is compensated only where the two applications meet, and rows alone never meet
 * them. Such applications are *novel*: their dots are in one reply's table context and missing
 * from another's. An application whose dot every reply has seen is in every replica's table, so
 * any loser beside it is compensated in that replica's row already. So the answer is exact once
 * the replies' novel entries are merged in, and those are few: the deltas still in flight.
 *
 * To name them, a node remembers in memory which idempotency key each recent dot of a document
 * applied (`RecentDots`: a delta carries one entry and its one dot); each novel dot is asked of
 * one reply that has it, preferably the node that applied it. The answers carry those entries
 * with only their dots (`KvNode.#viewWithEntries`), so views plus answers form a state any of the
 * replicas may merge: read repair pushes it. A replica that cannot name a dot's entry
 * (restarted, forgot it) makes the coordinator use full states instead.
 */
import { KvError } from '../core/errors.ts';
import { contextMissing, singleDot, type CausalContext, type DocumentState, type Dot } from '../core/crdt/index.ts';
import { isNodeId } from '../core/types.ts';

/** Documents whose recent dots a node remembers, and dots per document (LIMITS.md). */
export const RECENT_DOCS_MAX = 256;
export const RECENT_DOTS_MAX = 128;
/** Novel dots one read may ask for, in all (and so one replica); more, and it reads full states. */
export const NOVEL_DOTS_MAX = 64;

type WireDot = readonly [string, number];

/** Per document (storage key), the idempotency key of each of its newest dots, LRU-bounded. */
export class RecentDots {
  readonly #docs = new Map<string, Map<string, string>>();

  /** Remembers the dot of `doc` when it is a delta: one entry of one application, one dot. */
  note(k: string, doc: DocumentState): void {
    const { applied, seen } = doc.idempotency;
    if (applied.size !== 1) return;
    const [key, apps] = [...applied][0]!;
    const dot = singleDot(seen);
    if (dot === undefined || apps.length !== 1 || apps[0]!.actor !== dot.actor) return;
    let dots = this.#docs.get(k);
    if (dots === undefined) dots = new Map();
    else this.#docs.delete(k);
    this.#docs.set(k, dots);
    if (this.#docs.size > RECENT_DOCS_MAX) this.#docs.delete(this.#docs.keys().next().value!);
    dots.set(dotId(dot), key);
    if (dots.size > RECENT_DOTS_MAX) dots.delete(dots.keys().next().value!);
  }

  /** The idempotency keys of `dots`; throws when one is not remembered. */
  keysOf(k: string, dots: readonly Dot[]): string[] {
    const known = this.#docs.get(k);
    return dots.map((dot) => {
      const key = known?.get(dotId(dot));
      if (key === undefined) throw new KvError('KV_UNAVAILABLE', 'the entry of a table dot is not at hand; read the full state');
      return key;
    });
  }
}

/**
 * The novel dots of the replies (given as node and table context): those some reply has and
 * another lacks, each assigned to one reply that has it — the node that applied it when it is
 * among them, as it always remembers its own applications — or undefined when there are more
 * than NOVEL_DOTS_MAX. Returned per reply: the dots that reply is asked for.
 */
export function novelDots(replies: readonly (readonly [string, CausalContext])[]): Dot[][] | undefined {
  const holders = new Map<string, { dot: Dot; at: number[] }>();
  for (const [i, [, mine]] of replies.entries()) {
    for (const [j, [, other]] of replies.entries()) {
      if (i === j) continue;
      const missing = contextMissing(mine, other, NOVEL_DOTS_MAX);
      if (missing === undefined) return undefined;
      for (const dot of missing) {
        const id = dotId(dot);
        const h = holders.get(id) ?? { dot, at: [] };
        if (!h.at.includes(i)) h.at.push(i);
        holders.set(id, h);
      }
    }
    if (holders.size > NOVEL_DOTS_MAX) return undefined;
  }
  const out = replies.map((): Dot[] => []);
  for (const { dot, at } of holders.values()) {
    const own = at.find((i) => replies[i]![0] === dot.actor);
    out[own ?? at[0]!]!.push(dot);
  }
  return out;
}

export function dotsToWire(dots: readonly Dot[]): WireDot[] {
  return dots.map((d) => [d.actor, d.seq]);
}

export function dotsFromWire(wire: unknown): Dot[] {
  if (!Array.isArray(wire) || wire.length > NOVEL_DOTS_MAX) throw new KvError('KV_BAD_REQUEST', 'bad dots');
  return wire.map((d: unknown) => {
    const [actor, seq] = Array.isArray(d) ? (d as unknown[]) : [];
    if (!isNodeId(actor) || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw new KvError('KV_BAD_REQUEST', 'bad dot');
    return { actor, seq };
  });
}

function dotId(dot: Dot): string {
  return `${dot.actor}\u0000${dot.seq}`;
}
