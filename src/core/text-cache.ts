/**
 * The last few distinct strings read in one role (actors, content types). Records and contexts
 * name a handful of them, over and over; a hit costs a byte comparison instead of a new string.
 * Decoders on the hot path (record-reader.ts, context.ts) look up the bytes they are about to
 * read as ASCII before building a string.
 */
export class TextCache {
  readonly #items: string[] = [];
  #next = 0;
  constructor(private readonly size: number) {}

  /** The cached string whose characters are `bytes[at, at + n)`, read as ASCII. */
  find(bytes: Uint8Array, at: number, n: number): string | undefined {
    if (at + n > bytes.length) return undefined;
    const items = this.#items;
    for (let i = 0; i < items.length; i++) {
      const s = items[i]!;
      if (s.length !== n) continue;
      let j = 0;
      while (j < n && s.charCodeAt(j) === bytes[at + j]) j++;
      if (j === n) return s;
    }
    return undefined;
  }

  /** Keeps `s`, replacing the oldest once full. */
  remember(s: string): void {
    if (this.#items.length < this.size) this.#items.push(s);
    else {
      this.#items[this.#next] = s;
      this.#next = (this.#next + 1) % this.size;
    }
  }
}
