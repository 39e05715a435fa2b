import { MemoryStorage } from '../storage/memory-storage.ts';
import type { RangeOptions, Storage, WriteOp } from '../storage/storage.ts';
import type { Prng } from './prng.ts';
import type { Scheduler, TimerHandle } from './scheduler.ts';

/**
 * One node's disk across its incarnations. Writes go to a MemoryStorage in manual-sync mode
 * and become durable (their promises resolve) when the simulated fsync runs, a random
 * 0..`syncDelayMaxMs` after the first unsynced write. `crash()` loses whatever was not synced
 * yet; `restart()` opens the surviving data for the next incarnation.
 */
export class SimDisk {
  #current: MemoryStorage = new MemoryStorage({ manualSync: true });
  #syncTimer: TimerHandle | null = null;
  #diskFull = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly rng: Prng,
    /** Upper bound of the fsync delay; 0 syncs on the next event. */
    private readonly syncDelayMaxMs: number,
    private readonly onSync: (writes: number) => void = () => {},
  ) {}

  /** The storage port for the current incarnation (it dies with it). */
  port(): Storage {
    const mem = this.#current;
    const write = (ops: readonly WriteOp[]): Promise<void> => {
      const p = mem.write(ops);
      this.#scheduleSync(mem);
      return p;
    };
    return {
      get: (table: string, key: string) => mem.get(table, key),
      write,
      range: (table: string, options?: RangeOptions) => mem.range(table, options),
      count: (table: string) => mem.count(table),
      close: () => mem.close(),
    };
  }

  #scheduleSync(mem: MemoryStorage): void {
    if (this.#syncTimer !== null || mem !== this.#current) return;
    this.#syncTimer = this.scheduler.schedule(this.rng.int(0, this.syncDelayMaxMs), () => {
      this.#syncTimer = null;
      if (mem === this.#current) this.onSync(mem.sync());
    });
  }

  /** The process died: unsynced writes are lost. Returns how many. */
  crash(): number {
    this.scheduler.cancel(this.#syncTimer);
    this.#syncTimer = null;
    return this.#current.crash();
  }

  restart(): void {
    this.#current = this.#current.reopen({ manualSync: true });
    this.#current.setDiskFull(this.#diskFull);
  }

  /** Fault: every write fails with KV_STORAGE_IO while set (survives restarts). */
  setDiskFull(full: boolean): void {
    this.#diskFull = full;
    this.#current.setDiskFull(full);
  }
}
