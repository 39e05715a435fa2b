import type { NodeId } from '../core/types.ts';

/** How a write's quorum was decided (what quorumError reports). */
export interface WriteOutcome {
  readonly ok: boolean;
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: boolean;
  readonly total: number;
}

/**
 * The acknowledgements of one replicated write (Dynamo §4.5 W), counted per target. It decides
 * as QuorumCall does — success once `required` targets hold the write, failure as soon as too
 * many failed for that to happen, or the time-out — and then keeps counting late answers until
 * every target answered or the time-out passed, when `onSettled` learns the decision and which
 * targets acknowledged (the coordinator leaves hints for the others).
 *
 * Why not QuorumCall: every write makes one, on the hot path, and QuorumCall's generality (a set
 * of who answered, the values, two promises) was a fifth of the coordinator's bookkeeping per
 * write. Here: one small array of per-target states and one promise.
 */
export class WriteQuorum {
  /** Per target: 0 waiting, 1 acknowledged, 2 failed. */
  readonly #state: number[];
  #acked = 0;
  #failed = 0;
  #timedOut = false;
  #decided = false;
  #settled = false;
  readonly #required: number;
  readonly #onSettled: (ok: boolean, acked: (i: number) => boolean) => void;
  #ok = false;
  #resolve!: (o: WriteOutcome) => void;
  /** Resolves once decided (never rejects), as QuorumCall's `quorum()`. */
  readonly decided: Promise<WriteOutcome>;

  constructor(
    readonly targets: readonly NodeId[],
    required: number,
    onSettled: (ok: boolean, acked: (i: number) => boolean) => void,
  ) {
    this.#state = targets.map(() => 0);
    this.#required = required;
    this.#onSettled = onSettled;
    this.decided = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** The target index of `node`, or -1 if it was not asked. */
  indexOf(node: NodeId): number {
    return this.targets.indexOf(node);
  }

  succeed(i: number): void {
    if (!this.#answer(i, 1)) return;
    this.#acked++;
    this.#check();
  }

  fail(i: number): void {
    if (!this.#answer(i, 2)) return;
    this.#failed++;
    this.#check();
  }

  timeout(): void {
    if (this.#timedOut || this.#settled) return;
    this.#timedOut = true;
    this.#decide(this.#acked >= this.#required);
    this.#settle();
  }

  #answer(i: number, state: number): boolean {
    if (i < 0 || this.#state[i] !== 0 || this.#timedOut) return false;
    this.#state[i] = state;
    return true;
  }

  #check(): void {
    if (this.#acked >= this.#required) this.#decide(true);
    else if (this.#failed > this.targets.length - this.#required) this.#decide(false);
    if (this.#acked + this.#failed === this.targets.length) this.#settle();
  }

  #decide(ok: boolean): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#ok = ok;
    this.#resolve({
      ok,
      succeeded: this.#acked,
      failed: this.#failed,
      timedOut: this.#timedOut && !ok,
      total: this.targets.length,
    });
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    // Always decided by now: every target answered, or the time-out decided first.
    this.#onSettled(this.#ok, (i) => this.#state[i] === 1);
  }
}
