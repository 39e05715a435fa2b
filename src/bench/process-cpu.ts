import { readFileSync } from 'node:fs';

/** Linux reports process CPU time in clock ticks; 100 per second on every common kernel config. */
const CLOCK_TICKS_PER_S = 100;

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from /proc/PID/stat;
 * null where that is not available. The benchmark divides the CPU a system spent by the
 * requests it served: on a shared machine that is steadier than throughput.
 */
export function cpuMs(pid: number | null | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime)
      ? ((utime + stime) * 1000) / CLOCK_TICKS_PER_S
      : null;
  } catch {
    return null;
  }
}

/** Total CPU of several processes (null if any is unknown). */
export function totalCpuMs(pids: readonly (number | null | undefined)[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const ms = cpuMs(pid);
    if (ms === null) return null;
    sum += ms;
  }
  return sum;
}
