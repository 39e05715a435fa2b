/**
 * Last-writer-wins register (Shapiro et al. 2011, §3.2.1) ordered by hybrid logical clock
 * timestamps (hlc.ts). `$unset` writes a tombstone (`json: null`) with a timestamp of its own,
 * so an unset and a concurrent `$set` resolve exactly like two sets: the later timestamp wins.
 * Tombstones are kept (a few bytes) so a late, older `$set` cannot bring the field back.
 */
import { compareHlc, type Hlc } from './hlc.ts';

export interface LwwRegister {
  readonly ts: Hlc;
  /** The value as JSON text, or null when the field was unset. */
  readonly json: string | null;
}

export function registerMerge(a: LwwRegister, b: LwwRegister): LwwRegister {
  const byTs = compareHlc(a.ts, b.ts);
  if (byTs !== 0) return byTs > 0 ? a : b;
  // Same timestamp means the same write, unless an actor lost its state; any fixed rule
  // keeps merge commutative, so compare the contents.
  return rank(a.json) >= rank(b.json) ? a : b;
}

export function registerIsLive(r: LwwRegister): boolean {
  return r.json !== null;
}

function rank(json: string | null): string {
  // Tombstone sorts first; "\u0000" precedes every JSON text's first character.
  return json === null ? '\u0000' : `\u0001${json}`;
}
