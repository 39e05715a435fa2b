import { KvError } from '../core/errors.ts';
import type { Clock } from '../node/clock.ts';

/**
 * The largest injectable skew, either way: a day covers every real misconfiguration (a wrong
 * time zone is at most 14 h off) and keeps the node's `now` far from 0, which the HLC refuses.
 */
export const CLOCK_SKEW_MS_MAX = 86_400_000;

/**
 * A node's clock with an injectable offset: the clock-skew fault of `POST /admin/faults`
 * (`{"clockSkewMs":3600000}` = this node's clock runs an hour ahead).
 *
 * `startNode` hands this clock to the `KvNode` as its wall clock (`NodeDeps.wallClock`), so the
 * offset reaches everything the node stamps with its wall time: the HLC of CRDT register writes
 * (`$set` last-writer-wins), a sibling's `writtenAtMs`, idempotency-key ages, tombstone grace
 * and every event's `atMs` — a real skewed host, not a relabelled one. Timers, deadlines and the
 * failure detector run on the real clock: they measure intervals, and a change of skew would
 * look to the phi-accrual detector like one long gap since every peer's last message.
 */
export class SkewableClock {
  readonly #inner: Clock;
  #skewMs = 0;

  constructor(inner: Clock) {
    this.#inner = inner;
  }

  now(): number {
    return this.#inner.now() + this.#skewMs;
  }

  get skewMs(): number {
    return this.#skewMs;
  }

  set skewMs(ms: number) {
    this.#skewMs = parseClockSkew(ms);
  }
}

/** Validates `clockSkewMs` from untrusted JSON: an integer number of ms within ±`CLOCK_SKEW_MS_MAX`. */
export function parseClockSkew(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > CLOCK_SKEW_MS_MAX) {
    throw new KvError('KV_BAD_REQUEST', `clockSkewMs must be an integer number of ms in [-${CLOCK_SKEW_MS_MAX}, ${CLOCK_SKEW_MS_MAX}]`, {
      field: 'clockSkewMs',
      max: CLOCK_SKEW_MS_MAX,
    });
  }
  // -0 would show as 0 anyway; normalise so equality checks need no special case.
  return value === 0 ? 0 : value;
}
