/**
 * A table for entries that come and go with every request: the reply handlers of requests in
 * flight by request id (kv-node.ts `#pending`), the newest write in flight by storage key
 * (`#inflight`).
 *
 * Not a `Map`, on purpose. Every request adds an entry and removes it soon after, so a Map's hash
 * table keeps filling with deleted entries and is rebuilt every few dozen requests. V8 keeps each
 * discarded table pointing at its replacement, with its old entries still in it, and once the
 * table has lived long enough to be in the old generation it allocates the replacements there too.
 * Those dead old tables then hold the entries of later requests (and the read or write state
 * their closures keep) alive through every young-generation collection, so all of it was promoted
 * and left for full collections to find: 14–20% of everything a node allocated on quorum reads,
 * and on each node a 4 ms pause every ~43 ms. An object in dictionary mode has no such chain: 0–4%
 * promoted, and 23–28% less CPU per quorum read in one process (docs/BENCHMARKS.md, 2026-12-06).
 * (String keys become the object's property names, which V8 interns: one string-table lookup per
 * key, as a Map would hash it.)
 */
export class ChurnTable<K extends string | number, V> {
  #byKey: Record<K, V> = Object.create(null) as Record<K, V>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: K): V | undefined {
    return this.#byKey[key];
  }

  set(key: K, value: V): void {
    if (this.#byKey[key] === undefined) this.#size++;
    this.#byKey[key] = value;
  }

  delete(key: K): void {
    if (this.#byKey[key] === undefined) return;
    delete this.#byKey[key];
    this.#size--;
  }

  /** Removes every entry and returns them (a node shutting down fails them all). */
  drain(): V[] {
    const all = Object.values(this.#byKey) as V[];
    this.#byKey = Object.create(null) as Record<K, V>;
    this.#size = 0;
    return all;
  }
}
