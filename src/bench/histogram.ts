/**
 * A latency histogram in the style of HdrHistogram: log-linear buckets with a fixed relative
 * error, so percentiles stay correct (to within 1/`SUB_BUCKETS`) however many samples arrive,
 * in constant memory. Values are recorded in microseconds.
 */

/** Linear sub-buckets per power of two: 128 keeps every reported value within 0.8% of the truth. */
const SUB_BUCKETS = 128;
const SUB_BITS = 7;
/** Magnitudes (powers of two above the linear range): enough for 2^36 µs ≈ 19 hours; larger samples are clamped. */
const MAGNITUDES = 30;
const VALUE_US_MAX = 2 ** (MAGNITUDES + SUB_BITS - 1) - 1;
const BUCKETS = (MAGNITUDES + 1) * SUB_BUCKETS;

export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #minUs = Number.POSITIVE_INFINITY;
  #maxUs = 0;
  #sumUs = 0;

  /** Records one latency in microseconds (fractions are rounded; negatives count as 0). */
  record(valueUs: number): void {
    const v = Math.min(VALUE_US_MAX, Math.max(0, Math.round(valueUs)));
    this.#counts[bucketOf(v)]! += 1;
    this.#count += 1;
    this.#sumUs += v;
    if (v < this.#minUs) this.#minUs = v;
    if (v > this.#maxUs) this.#maxUs = v;
  }

  /** Adds every sample of `other` to this histogram. */
  merge(other: Histogram): void {
    const counts = other.#counts;
    for (let i = 0; i < counts.length; i++) this.#counts[i]! += counts[i]!;
    this.#count += other.#count;
    this.#sumUs += other.#sumUs;
    this.#minUs = Math.min(this.#minUs, other.#minUs);
    this.#maxUs = Math.max(this.#maxUs, other.#maxUs);
  }

  get count(): number {
    return this.#count;
  }

  get minUs(): number {
    return this.#count === 0 ? 0 : this.#minUs;
  }

  get maxUs(): number {
    return this.#maxUs;
  }

  get meanUs(): number {
    return this.#count === 0 ? 0 : this.#sumUs / this.#count;
  }

  /**
   * The value at percentile `p` (0..100): the smallest recorded value v such that at least p% of
   * samples are ≤ v (nearest-rank), reported as its bucket's upper edge, clamped to the max seen.
   */
  percentileUs(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.max(this.minUs, Math.min(this.#maxUs, upperEdgeOf(i)));
    }
    return this.#maxUs;
  }
}

/** Bucket index: magnitude 0 holds 0..127 exactly; magnitude m ≥ 1 holds [64·2^m, 128·2^m) in steps of 2^m. */
function bucketOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  const magnitude = Math.floor(Math.log2(v)) - SUB_BITS + 1;
  const sub = Math.floor(v / 2 ** magnitude);
  // sub is in [64, 128): the top half of the linear range, as in HdrHistogram.
  return magnitude * SUB_BUCKETS + sub;
}

/** The largest value that falls in bucket `i`. */
function upperEdgeOf(i: number): number {
  const magnitude = Math.floor(i / SUB_BUCKETS);
  const sub = i % SUB_BUCKETS;
  if (magnitude === 0) return sub;
  return (sub + 1) * 2 ** magnitude - 1;
}
