import { UsageError } from './usage.ts';

/** A whole number flag within bounds, or a UsageError naming the flag. */
export function intFlag(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^-?[0-9]+$/.test(value)) throw new UsageError(`--${name} must be a whole number (got "${value}")`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max} (got ${n})`);
  return n;
}

/** A flag, else its environment variable, else undefined. */
export function fromEnv(value: string | undefined, ...names: string[]): string | undefined {
  if (value !== undefined) return value;
  for (const n of names) {
    const v = process.env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** Whether a host is a loopback address (binding elsewhere needs a token or --insecure). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
