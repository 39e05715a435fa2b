/**
 * A three-way text merge (diff3) over words: changes each side made to the common base are
 * both kept; where both changed the same stretch differently, both variants are kept, marked
 * for the user to choose before saving.
 */

function tokens(s: string): string[] {
  return s.split(/(\s+)/).filter((t) => t.length > 0);
}

/** Longest common subsequence matches between a and b, as pairs of indices (in order). */
function lcs(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = dp[i] as number[];
    const next = dp[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
  }
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push([i, j]);
      i++;
      j++;
    } else if ((dp[i + 1]?.[j] ?? 0) >= (dp[i]?.[j + 1] ?? 0)) i++;
    else j++;
  }
  return out;
}

export interface MergeResult {
  readonly text: string;
  readonly conflicts: number;
}

export function merge3(base: string, a: string, b: string, labels: { a: string; b: string } = { a: 'A', b: 'B' }): MergeResult {
  const O = tokens(base);
  const A = tokens(a);
  const B = tokens(b);
  const ma = new Map(lcs(O, A));
  const mb = new Map(lcs(O, B));
  // Stable points: base tokens matched on both sides.
  const stable: [number, number, number][] = [];
  for (let i = 0; i < O.length; i++) {
    const ja = ma.get(i);
    const jb = mb.get(i);
    if (ja !== undefined && jb !== undefined) stable.push([i, ja, jb]);
  }
  stable.push([O.length, A.length, B.length]);
  let out = '';
  let conflicts = 0;
  let [io, ia, ib] = [0, 0, 0];
  for (const [so, sa, sb] of stable) {
    const o = O.slice(io, so).join('');
    const x = A.slice(ia, sa).join('');
    const y = B.slice(ib, sb).join('');
    if (x === o) out += y;
    else if (y === o || x === y) out += x;
    else {
      conflicts++;
      out += `[${labels.a}: ${x.trim()} | ${labels.b}: ${y.trim()}]`;
      if (/\s$/.test(x) || /\s$/.test(y)) out += ' ';
    }
    if (so < O.length) out += O[so];
    [io, ia, ib] = [so + 1, sa + 1, sb + 1];
  }
  return { text: out, conflicts };
}
