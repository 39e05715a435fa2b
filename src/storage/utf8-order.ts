/**
 * Comparing JS strings in UTF-8 byte order without encoding them.
 *
 * `<` on strings compares UTF-16 code units, which agrees with UTF-8 byte order (= code point
 * order) everywhere except one place: a surrogate (0xD800..0xDFFF, half of a code point above
 * U+FFFF) sorts below U+E000..U+FFFF in UTF-16 but above them in UTF-8. Remapping the first
 * differing unit fixes exactly that case, so LMDB's memcmp order and ours agree.
 */

const surrogateFirst = 0xd800;
const privateUseFirst = 0xe000;

/** Moves surrogates above U+E000..U+FFFF, keeping every other unit's relative order. */
function rank(unit: number): number {
  if (unit >= privateUseFirst) return unit - 0x800;
  if (unit >= surrogateFirst) return unit + 0x2000;
  return unit;
}

/** Negative, zero or positive as `a` sorts before, equal to or after `b` in UTF-8 byte order. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}
