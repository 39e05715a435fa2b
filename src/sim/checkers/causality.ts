import type { HistoryOp, RecordJson, SiblingJson, VectorJson } from '../history.ts';
import { parseDot } from '../history.ts';
import type { Violation } from './violation.ts';

/** One put or delete of a key, with every dot it was seen under. */
export interface WriteInfo {
  readonly op: HistoryOp;
  /** The client context the write carried (empty for a blind write). */
  readonly ctx: VectorJson;
  /** Dots this write's version was stored under (more than one if it was applied twice). */
  readonly dots: Set<string>;
}

export function covers(ctx: VectorJson, dot: string): boolean {
  const d = parseDot(dot);
  return (ctx[d.actor] ?? 0) >= d.counter;
}

/**
 * What the history says about one key's versions: which write made which dot, and which write
 * had seen which (client-side causality: write y supersedes x exactly when y's client context,
 * which came from a read, covers one of x's dots). Nothing here trusts the node's own `seen`
 * vectors except to name which delete left an unacknowledged tombstone.
 */
export class KeyCausality {
  readonly writes: WriteInfo[] = [];
  readonly #byValue = new Map<string, WriteInfo>();
  readonly #byDot = new Map<string, WriteInfo>();
  readonly violations: Violation[] = [];
  readonly #reported = new Set<string>();

  constructor(
    readonly key: string,
    ops: readonly HistoryOp[],
  ) {
    for (const op of ops) {
      if (op.f !== 'put' && op.f !== 'del') continue;
      const w: WriteInfo = { op, ctx: op.context ?? {}, dots: new Set() };
      this.writes.push(w);
      if (op.f === 'put' && op.value !== undefined) this.#byValue.set(op.value, w);
    }
    // Acknowledged dots first: they are the node's own word.
    for (const w of this.writes) if (w.op.type === 'ok' && w.op.dot) this.#assign(w, w.op.dot, w.op.id);
    // Then every version any read showed.
    for (const op of ops) {
      if ((op.f === 'read' || op.f === 'local-read') && op.type === 'ok' && op.result) {
        for (const s of op.result.siblings) this.writerOf(s, op.id);
      }
    }
  }

  #assign(w: WriteInfo, dot: string, shownBy: number): void {
    const other = this.#byDot.get(dot);
    if (other && other !== w) {
      this.#report(`reuse ${dot}`, {
        kind: 'dot-reuse',
        key: this.key,
        message: `dot ${dot} names two writes: op ${other.op.id} (${other.op.f} ${other.op.value ?? ''}) and op ${w.op.id} (${w.op.f} ${w.op.value ?? ''})`,
        ops: [other.op.id, w.op.id, shownBy],
      });
      return;
    }
    this.#byDot.set(dot, w);
    w.dots.add(dot);
  }

  /**
   * The write that made a version. A live version is named by its unique value; a tombstone by
   * the dot its delete was acknowledged with, else by a delete whose client context equals the
   * tombstone's `seen`. Undefined (and a `phantom` violation for a value
   * no one wrote) when nothing matches.
   */
  writerOf(s: SiblingJson, shownBy: number): WriteInfo | undefined {
    const known = this.#byDot.get(s.dot);
    if (known) {
      if (!s.deleted && known.op.value !== s.value) this.#assign(this.#byValue.get(s.value) ?? known, s.dot, shownBy);
      return known;
    }
    if (!s.deleted) {
      const w = this.#byValue.get(s.value);
      if (!w) {
        this.#report(`phantom ${s.dot}`, {
          kind: 'phantom',
          key: this.key,
          message: `a read showed value "${s.value}" (dot ${s.dot}) that no write wrote`,
          ops: [shownBy],
        });
        return undefined;
      }
      this.#assign(w, s.dot, shownBy);
      return w;
    }
    // A delete whose client context is the tombstone's `seen`: an unacknowledged one first, else
    // an acknowledged one applied a second time (a forward retried on silence, as a put can be:
    // kv-node.ts `write`), whose extra version has a dot of its own.
    const seen = JSON.stringify(s.seen);
    const sameContext = (x: WriteInfo): boolean => x.op.f === 'del' && JSON.stringify(sortedVector(x.ctx)) === seen;
    const w = this.writes.find((x) => x.op.type !== 'ok' && sameContext(x)) ?? this.writes.find(sameContext);
    if (w) this.#assign(w, s.dot, shownBy);
    return w;
  }

  #report(id: string, v: Violation): void {
    if (this.#reported.has(id)) return;
    this.#reported.add(id);
    this.violations.push(v);
  }

  /**
   * Whether write y had (transitively) seen the version `dot`: y's context covers it, or covers
   * a version of a write whose context covers it, and so on. Per version, not per write: a write
   * applied twice has two versions, and a later writer may have seen only one of them.
   */
  supersedes(y: WriteInfo, dot: string): boolean {
    const seen = new Set<WriteInfo>([y]);
    const stack = [y];
    while (stack.length > 0) {
      const z = stack.pop()!;
      if (covers(z.ctx, dot)) return true;
      for (const w of this.writes) {
        if (seen.has(w)) continue;
        for (const d of w.dots) {
          if (covers(z.ctx, d)) {
            seen.add(w);
            stack.push(w);
            break;
          }
        }
      }
    }
    return false;
  }

  /** Writes whose versions a record shows (tombstones included). */
  shown(record: RecordJson | null | undefined, shownBy: number): WriteInfo[] {
    if (!record) return [];
    const out: WriteInfo[] = [];
    for (const s of record.siblings) {
      const w = this.writerOf(s, shownBy);
      if (w && !out.includes(w)) out.push(w);
    }
    return out;
  }

  /**
   * Whether a record reflects acknowledged write x: it shows one of x's versions, or a version
   * of another write that had seen x's acknowledged version.
   */
  reflects(record: RecordJson | null | undefined, x: WriteInfo, shownBy: number): boolean {
    if (!record) return false;
    if (record.siblings.some((s) => x.dots.has(s.dot))) return true;
    const dot = x.op.dot;
    if (!dot) return false;
    return this.shown(record, shownBy).some((y) => y !== x && this.supersedes(y, dot));
  }
}

function sortedVector(v: VectorJson): VectorJson {
  const out: VectorJson = {};
  for (const k of Object.keys(v).sort()) out[k] = v[k]!;
  return out;
}
