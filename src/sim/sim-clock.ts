import type { Clock } from '../node/clock.ts';
import type { Scheduler, TimerHandle } from './scheduler.ts';

/** A node's clock error: a fixed offset and a rate (1 = perfect; 1.01 runs 1 % fast). */
export interface ClockSkew {
  readonly offsetMs: number;
  readonly rate: number;
}

export const NO_SKEW: ClockSkew = { offsetMs: 0, rate: 1 };

/**
 * One node incarnation's view of virtual time. Skew changes what `now()` says and how long a
 * timer really takes; `kill()` (a crash) silences every timer this incarnation set, as a dead
 * process runs nothing.
 */
export class SimClock implements Clock {
  #alive = true;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly skew: ClockSkew,
  ) {}

  now(): number {
    // Whole milliseconds, as Date.now() gives.
    return Math.floor(this.skew.offsetMs + this.scheduler.nowMs * this.skew.rate);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.scheduler.schedule(Math.max(0, ms) / this.skew.rate, () => {
      if (this.#alive) fn();
    });
  }

  clearTimeout(handle: unknown): void {
    this.scheduler.cancel(handle as TimerHandle | null);
  }

  kill(): void {
    this.#alive = false;
  }
}
