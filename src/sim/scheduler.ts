/**
 * Virtual time for the simulator (TigerBeetle's VOPR, FoundationDB's simulation): a priority
 * queue of callbacks ordered by (virtual time, insertion order). Nothing waits on the wall
 * clock; the run advances from one event straight to the next.
 *
 * Between two events the scheduler lets every pending promise continuation run
 * (`settle()`): the node code resolves storage and quorum promises on microtasks, and all of
 * them must finish before virtual time moves on, or the order of events would depend on how
 * deep a promise chain happens to be.
 */

interface Entry {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** An opaque handle for `cancel`. */
export interface TimerHandle {
  readonly __timer: true;
}

export class Scheduler {
  #nowMs = 0;
  #seq = 0;
  #heap: Entry[] = [];
  #events = 0;

  get nowMs(): number {
    return this.#nowMs;
  }

  /** Events run so far. */
  get events(): number {
    return this.#events;
  }

  /** Whether anything is still scheduled. */
  get idle(): boolean {
    return this.#heap.every((e) => e.cancelled);
  }

  /** Runs `fn` after `delayMs` of virtual time (0 = after everything already due now). */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    if (!Number.isFinite(delayMs)) throw new Error(`scheduler: delay must be finite (got ${delayMs})`);
    const e: Entry = { atMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, fn, cancelled: false };
    push(this.#heap, e);
    return e as unknown as TimerHandle;
  }

  cancel(handle: TimerHandle | null | undefined): void {
    if (handle) (handle as unknown as Entry).cancelled = true;
  }

  /**
   * Runs events in order until virtual time would pass `untilMs` or `stop()` returns true
   * (checked after every event). Leaves the clock at `untilMs` when it ran out of events.
   */
  async runUntil(untilMs: number, stop: () => boolean = () => false): Promise<void> {
    await settle();
    while (!stop()) {
      const e = this.#heap[0];
      if (!e || e.atMs > untilMs) {
        this.#nowMs = Math.max(this.#nowMs, untilMs);
        return;
      }
      pop(this.#heap);
      if (e.cancelled) continue;
      this.#nowMs = e.atMs;
      this.#events++;
      e.fn();
      await settle();
    }
  }

  /** Runs for `durationMs` of virtual time from now. */
  runFor(durationMs: number, stop?: () => boolean): Promise<void> {
    return this.runUntil(this.#nowMs + durationMs, stop);
  }
}

/**
 * Lets every queued promise continuation run. `setImmediate` fires only once the microtask
 * queue is empty, however long its chains are, so one round reaches quiescence; it is a
 * zero-delay macrotask, not a timer, and nothing on the simulated path schedules macrotasks
 * of its own, so the order of events does not depend on the host or its speed.
 */
export function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

function less(a: Entry, b: Entry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

function push(h: Entry[], e: Entry): void {
  h.push(e);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(h[i]!, h[p]!)) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

function pop(h: Entry[]): void {
  const last = h.pop()!;
  if (h.length === 0) return;
  h[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && less(h[l]!, h[m]!)) m = l;
    if (r < h.length && less(h[r]!, h[m]!)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}
