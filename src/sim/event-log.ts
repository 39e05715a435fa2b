import { createHash, type Hash } from 'node:crypto';

/**
 * Every event of a run, in order, folded into one SHA-256: two runs of the same seed must end
 * with the same hash (test/sim/replay.test.ts), which is what makes a seed a complete bug
 * report. The last `traceLinesMax` lines are kept for the failure trace.
 */
export class EventLog {
  readonly #hash: Hash = createHash('sha256');
  readonly #tail: string[] = [];
  readonly #traceLinesMax: number;
  readonly #counts = new Map<string, number>();
  #lines = 0;
  /** When set, every line is also handed here (`nosqldb sim --seed S --verbose`). */
  onLine: ((line: string) => void) | null = null;

  /** @param traceLinesMax lines kept for the trace; 400 covers the last ~second of a run. */
  constructor(traceLinesMax = 400) {
    this.#traceLinesMax = traceLinesMax;
  }

  /** Records one event. `kind` is counted (faults by kind appear in the summary). */
  log(nowMs: number, kind: string, text: string): void {
    const line = `${nowMs.toFixed(3)} ${kind} ${text}`;
    this.#hash.update(line);
    this.#hash.update('\n');
    this.#lines++;
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    this.#tail.push(line);
    if (this.#tail.length > this.#traceLinesMax) this.#tail.shift();
    this.onLine?.(line);
  }

  get lines(): number {
    return this.#lines;
  }

  count(kind: string): number {
    return this.#counts.get(kind) ?? 0;
  }

  counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  tail(): readonly string[] {
    return this.#tail;
  }

  /** The hash of everything logged so far (hex). Call once, at the end of the run. */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}
