import type { NodeId } from '../core/types.ts';

export interface QuorumOutcome<T> {
  readonly ok: boolean;
  readonly values: T[];
  readonly succeeded: number;
  readonly failed: number;
  readonly timedOut: boolean;
  readonly total: number;
}

/**
 * Counts replica replies for one request (Dynamo §4.5 R/W). It decides as early as it can:
 * success once `required` replicas succeeded, failure once so many failed that `required` can
 * no longer be reached — that is what lets a request with two of three replicas down fail
 * fast instead of waiting for its time-out.
 */
export class QuorumCall<T> {
  readonly #total: number;
  readonly #required: number;
  readonly #answered = new Set<NodeId>();
  readonly #values: T[] = [];
  #failed = 0;
  #timedOut = false;
  #decide!: (o: QuorumOutcome<T>) => void;
  #settle!: () => void;
  readonly #quorum: Promise<QuorumOutcome<T>>;
  readonly #settled: Promise<void>;
  #decided = false;

  constructor(total: number, required: number) {
    this.#total = total;
    this.#required = required;
    this.#quorum = new Promise((res) => (this.#decide = res));
    this.#settled = new Promise((res) => (this.#settle = res));
  }

  succeed(from: NodeId, value: T): void {
    if (this.#answered.has(from) || this.#timedOut) return;
    this.#answered.add(from);
    this.#values.push(value);
    this.#check();
  }

  fail(from: NodeId): void {
    if (this.#answered.has(from) || this.#timedOut) return;
    this.#answered.add(from);
    this.#failed++;
    this.#check();
  }

  timeout(): void {
    if (this.#timedOut) return;
    this.#timedOut = true;
    this.#finish(this.#values.length >= this.#required);
    this.#settle();
  }

  allIn(): boolean {
    return this.#answered.size >= this.#total;
  }

  quorum(): Promise<QuorumOutcome<T>> {
    return this.#quorum;
  }

  /** Resolves once every replica answered or the time-out passed. */
  settled(): Promise<void> {
    return this.#settled;
  }

  #check(): void {
    if (this.#values.length >= this.#required) this.#finish(true);
    else if (this.#failed > this.#total - this.#required) this.#finish(false);
    if (this.allIn()) this.#settle();
  }

  #finish(ok: boolean): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#decide({
      ok,
      values: [...this.#values],
      succeeded: this.#values.length,
      failed: this.#failed,
      timedOut: this.#timedOut && !ok,
      total: this.#total,
    });
  }
}
