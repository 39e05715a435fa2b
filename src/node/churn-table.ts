/**
 * A table for entries that come and go with every request, by integer id: the reply handlers of
 * a node's requests in flight (kv-node.ts `#pending`).
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
 * Integer keys only: string keys would become property names, which V8 interns, and for the
 * node's writes-in-flight table (by storage key) that cost more than it saved (string-table
 * lookups 0.3% -> 1.6% of a node's CPU on writes). A Map moved to a fresh one every 128 deletes
 * did not avoid the chain in every run (0%, 0%, 8% promoted).
 */
export class ChurnTable<V> {
  #byId: Record<number, V> = Object.create(null) as Record<number, V>;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    return this.#byId[id];
  }

  set(id: number, value: V): void {
    if (this.#byId[id] === undefined) this.#size++;
    this.#byId[id] = value;
  }

  delete(id: number): void {
    if (this.#byId[id] === undefined) return;
    delete this.#byId[id];
    this.#size--;
  }

  /** Removes every entry and returns them (a node shutting down fails them all). */
  drain(): V[] {
    const all = Object.values(this.#byId) as V[];
    this.#byId = Object.create(null) as Record<number, V>;
    this.#size = 0;
    return all;
  }
}
