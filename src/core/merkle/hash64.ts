/**
 * The 64-bit hash the Merkle trees are built from, kept inside this folder on purpose: tree
 * hashes travel between nodes, so they must never change when the ring's key hash does.
 *
 * FNV-1a 64 (Fowler–Noll–Vo, IETF draft-eastlake-fnv) over UTF-8 bytes, computed on two
 * unsigned 32-bit halves so it needs neither BigInt nor allocation per byte, then a bijective
 * finaliser built from MurmurHash3's fmix32 so that every output bit (the segment comes from the
 * top bits) depends on every input byte. A bijection cannot add collisions, so the pair keeps
 * FNV-1a 64's collision behaviour.
 */

/** A 64-bit hash as two unsigned 32-bit halves (the same shape as src/core/hash.ts). */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

const fnvOffsetHi = 0xcbf29ce4;
const fnvOffsetLo = 0x84222325;
// The FNV 64-bit prime is 2^40 + 0x1b3; the 2^40 part shifts `lo` 8 bits into `hi`.
const fnvPrimeLow = 0x1b3;
const twoPow32 = 0x1_0000_0000;

/**
 * A running FNV-1a 64 state. Feed bytes or strings (as UTF-8), then read `raw()` or `finish()`.
 * Feeding can continue after `finish()`, which lets one pass over a key serve both the segment
 * hash (key alone) and the entry hash (key, separator, digest).
 */
export class Fnv64 {
  private hi = fnvOffsetHi;
  private lo = fnvOffsetLo;

  byte(b: number): this {
    const lo = (this.lo ^ b) >>> 0;
    const loProduct = lo * fnvPrimeLow; // < 2^41, exact in a double
    const newLo = loProduct >>> 0;
    const carry = (loProduct - newLo) / twoPow32;
    this.hi = (this.hi * fnvPrimeLow + carry + ((lo << 8) >>> 0)) >>> 0;
    this.lo = newLo;
    return this;
  }

  /**
   * Feeds `text` as UTF-8 without allocating. Lone surrogates become U+FFFD, exactly as
   * `TextEncoder` encodes them, so the hash equals the hash of `new TextEncoder().encode(text)`.
   */
  string(text: string): this {
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        this.byte(c);
        continue;
      }
      if (c < 0x800) {
        this.byte(0xc0 | (c >> 6)).byte(0x80 | (c & 0x3f));
        continue;
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          this.byte(0xf0 | (cp >> 18))
            .byte(0x80 | ((cp >> 12) & 0x3f))
            .byte(0x80 | ((cp >> 6) & 0x3f))
            .byte(0x80 | (cp & 0x3f));
          continue;
        }
        c = 0xfffd;
      }
      this.byte(0xe0 | (c >> 12))
        .byte(0x80 | ((c >> 6) & 0x3f))
        .byte(0x80 | (c & 0x3f));
    }
    return this;
  }

  /** A copy of the running state, to hash several suffixes after one shared prefix. */
  clone(): Fnv64 {
    const copy = new Fnv64();
    copy.hi = this.hi;
    copy.lo = this.lo;
    return copy;
  }

  /** Plain FNV-1a 64 of what was fed (for test vectors). */
  raw(): Hash64 {
    return { hi: this.hi, lo: this.lo };
  }

  /** FNV-1a 64 followed by the finaliser: the hash the trees use. */
  finish(): Hash64 {
    const lo = fmix32((this.lo ^ this.hi) >>> 0);
    const hi = fmix32((this.hi ^ lo) >>> 0);
    return { hi, lo };
  }
}

/** MurmurHash3's 32-bit finaliser (a bijection on u32 with full avalanche). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The finished hash of raw bytes. */
export function hashBytes(bytes: Uint8Array): Hash64 {
  const h = new Fnv64();
  for (const b of bytes) h.byte(b);
  return h.finish();
}

/** 16 lower-case hex digits, high half first. */
export function hashHex(hi: number, lo: number): string {
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
