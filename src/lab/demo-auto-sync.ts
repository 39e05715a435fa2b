import { demoNodes, getJson } from './demo-node-io.ts';
import type { LabController } from './lab-controller.ts';
import type { AutoSyncStatus } from './demo-types.ts';

/** The demo's pace: an exchange round on every node this often while "automatic sync" is on. */
const PERIOD_MS = 3000;
const ROUND_TIMEOUT_MS = 20_000;
/** Node intervals are re-read this often (they only change when a node restarts). */
const STATUS_EVERY_MS = 10_000;

/**
 * InventorySync's automatic-sync switch. A node's own background interval
 * (`--anti-entropy-interval-ms`, default 10 s) is fixed at start: there is no runtime switch.
 * So the switch is the Lab's: while on, the Lab asks every running node for a round
 * (`POST /admin/anti-entropy`) every 3 s and right after a heal; while off it asks nothing, and
 * only the nodes' own rounds (reported in `nodeIntervalMs`, shown on the page) still run.
 */
export class DemoAutoSync {
  readonly #lab: LabController;
  #on = false;
  #rounds = 0;
  #lastRunAtMs: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #intervals: Record<string, number | null> = {};
  #intervalsAtMs = 0;
  readonly #unsubscribe: () => void;

  constructor(lab: LabController) {
    this.#lab = lab;
    this.#unsubscribe = lab.events.subscribe((e) => {
      if (this.#on && e.node === 'lab' && e.type === 'lab.heal') void this.runNow();
    });
  }

  status(): AutoSyncStatus {
    if (Date.now() - this.#intervalsAtMs > STATUS_EVERY_MS) void this.#readIntervals();
    return { on: this.#on, periodMs: PERIOD_MS, rounds: this.#rounds, lastRunAtMs: this.#lastRunAtMs, nodeIntervalMs: this.#intervals };
  }

  set(on: boolean): AutoSyncStatus {
    if (on !== this.#on) this.#lab.events.lab('demo.auto-sync', { on });
    this.#on = on;
    if (on && !this.#timer) {
      this.#timer = setInterval(() => void this.runNow(), PERIOD_MS);
      void this.runNow();
    }
    if (!on && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
    return this.status();
  }

  /** One round on every running node, one node after the other (each node runs one at a time). */
  async runNow(): Promise<Record<string, unknown>> {
    if (this.#running) return {};
    this.#running = true;
    const reports: Record<string, unknown> = {};
    try {
      for (const n of demoNodes(this.#lab).filter((x) => x.running)) {
        try {
          const res = await fetch(`${n.url}/admin/anti-entropy`, { method: 'POST', signal: AbortSignal.timeout(ROUND_TIMEOUT_MS) });
          reports[n.id] = (await res.json()) as unknown;
        } catch (e) {
          reports[n.id] = { error: (e as Error).message };
        }
      }
      this.#rounds++;
      this.#lastRunAtMs = Date.now();
    } finally {
      this.#running = false;
    }
    return reports;
  }

  async #readIntervals(): Promise<void> {
    this.#intervalsAtMs = Date.now();
    const out: Record<string, number | null> = {};
    await Promise.all(
      demoNodes(this.#lab).map(async (n) => {
        if (!n.running) return void (out[n.id] = this.#intervals[n.id] ?? null);
        const s = await getJson(`${n.url}/admin/status`).catch(() => null);
        const v = (s?.json as { antiEntropy?: { intervalMs?: unknown } } | null)?.antiEntropy?.intervalMs;
        out[n.id] = typeof v === 'number' ? v : null;
      }),
    );
    this.#intervals = out;
  }

  close(): void {
    this.#unsubscribe();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
