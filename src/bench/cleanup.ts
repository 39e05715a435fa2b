/**
 * What must be stopped if the benchmark is interrupted: the processes it started. Ctrl-C does
 * not run `finally` blocks, so `nosqldb bench` runs these from its signal handlers instead.
 */
const pending = new Set<() => Promise<void>>();

/** Registers a stop function; returns the function that unregisters it. */
export function onCleanup(stop: () => Promise<void>): () => void {
  pending.add(stop);
  return () => pending.delete(stop);
}

/** Runs every registered stop function once. */
export async function runCleanups(): Promise<void> {
  const all = [...pending];
  pending.clear();
  await Promise.allSettled(all.map((stop) => stop()));
}
