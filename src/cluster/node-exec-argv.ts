/**
 * The Node.js flags every node process started on this machine runs with (`nosqldb cluster`,
 * `nosqldb bench --start`, the Lab): the launchers put several nodes, and often the load, on the
 * same few cores.
 *
 * `--single-threaded-gc`: V8 runs each collection on the node's own thread instead of handing
 * parts of it to helper threads. A node's heap is small (tens of MB), so helpers save little,
 * and on a machine where other nodes keep the cores busy a scavenge waits until its helpers get
 * scheduled, which stretches the pause every request in the node waits through. Measured on the
 * 2-core benchmark machine (docs/BENCHMARKS.md, 2026-12-06 "garbage collection on the node's own
 * thread"): with `nosqldb bench --start --workload write --prefill --rate half`, write p99 at half
 * the maximum a median 10.0 ms in nine runs against 14.6 ms in six with V8's parallel collector,
 * the same flat-out throughput.
 *
 * `NOSQLDB_NODE_EXEC_ARGV` adds flags after these (profiling: `--cpu-prof`, which NODE_OPTIONS
 * does not allow); `--no-single-threaded-gc` there gives V8's parallel collector back (a node
 * alone on a many-core host). V8 cannot switch it at run time: it must be on the command line.
 */
export const NODE_EXEC_ARGV_DEFAULT: readonly string[] = ['--single-threaded-gc'];

export function nodeExecArgv(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.NOSQLDB_NODE_EXEC_ARGV ?? '').split(' ').filter((a) => a !== '');
  return [...NODE_EXEC_ARGV_DEFAULT, ...extra];
}
