/**
 * How a clock skew reads on a band, a card and in the log: `+1h`, `-30s`, `+1h 30m`, `+250ms`.
 * Pure and import-free: the Lab server labels its fault bands with it and the web UI its cards.
 */
export function skewLabel(ms: number): string {
  if (ms === 0) return '±0';
  const sign = ms > 0 ? '+' : '-';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return sign + parts.join(' ');
}
