import type { Random } from '../core/seeded-random.ts';

export type Distribution = 'uniform' | 'zipfian';

/** YCSB's default skew: the hottest key gets a few percent of all requests at 10,000 keys. */
const ZIPFIAN_THETA = 0.99;

/** Picks key indices in [0, keys). */
export type KeyChooser = () => number;

/** Key names are fixed-width so every request has the same size: `bench/00000042`. */
export function keyName(index: number, keys: number): string {
  return `bench/${String(index).padStart(String(Math.max(1, keys - 1)).length, '0')}`;
}

export function keyChooser(distribution: Distribution, keys: number, random: Random): KeyChooser {
  switch (distribution) {
    case 'uniform':
      return () => Math.floor(random() * keys);
    case 'zipfian':
      return scrambledZipfian(keys, random);
  }
}

/**
 * Gray et al., "Quickly generating billion-record synthetic databases" (SIGMOD '94), as YCSB's
 * ZipfianGenerator implements it; the rank is then scrambled (YCSB's ScrambledZipfianGenerator)
 * so that the hot keys are spread over the ring instead of being neighbours.
 */
function scrambledZipfian(keys: number, random: Random): KeyChooser {
  const theta = ZIPFIAN_THETA;
  let zetan = 0;
  for (let i = 1; i <= keys; i++) zetan += 1 / i ** theta;
  const zeta2 = 1 + 1 / 2 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / keys) ** (1 - theta)) / (1 - zeta2 / zetan);
  return () => {
    const u = random();
    const uz = u * zetan;
    let rank: number;
    if (uz < 1) rank = 0;
    else if (uz < zeta2) rank = 1;
    else rank = Math.floor(keys * (eta * u - eta + 1) ** alpha);
    return scramble(Math.min(rank, keys - 1), keys);
  };
}

/** FNV-1a of the rank, so rank r always maps to the same key. */
function scramble(rank: number, keys: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) {
    h ^= (rank >>> (i * 8)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % keys;
}
