import { randomUUID } from 'node:crypto';
import { KvError } from '../core/errors.ts';
import type { DemoLive } from './demo-live.ts';
import { demoNodes, kvPath, type DemoNode } from './demo-node-io.ts';
import type { LabController } from './lab-controller.ts';
import type { BurstConfig, BurstResult, BurstStatus } from './demo-types.ts';

/** Bounds a user can choose, and why: the machine is shared, the page must stay responsive. */
const RATE_MAX = 500;
const DURATION_S_MAX = 120;
/** Requests outstanding at once; beyond it the burst falls behind its rate rather than pile up. */
const IN_FLIGHT_MAX = 16;
const REQUEST_TIMEOUT_MS = 5000;
/** An increment is retried (same Idempotency-Key, next node) until acknowledged or this passes. */
const GIVE_UP_MS = 60_000;
const RETRY_PAUSE_MS = 200;
/** After the last acknowledgement, how long replicas get to agree before the check reports. */
const VERIFY_DEADLINE_MS = 30_000;
const TICK_MS = 50;

/**
 * TweetStats' "Simulate high traffic": `rate` likes per second for `durationS`, round-robin over
 * the running nodes, each a PATCH `$inc` with its own Idempotency-Key. A failed increment is
 * retried with the same key on another node, so it counts once whatever happened to the first
 * try. At the end the Lab waits until every replica holds the same count and compares it with
 * baseline + acknowledged: "0 lost" is a measurement, not a claim.
 */
export class DemoBurst {
  readonly #lab: LabController;
  readonly #live: DemoLive;
  #status: BurstStatus | null = null;
  #nextId = 1;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(lab: LabController, live: DemoLive) {
    this.#lab = lab;
    this.#live = live;
  }

  status(): BurstStatus | null {
    return this.#status;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  async start(config: BurstConfig): Promise<BurstStatus> {
    if (this.#status && this.#status.phase !== 'done') throw new KvError('KV_BAD_REQUEST', 'a burst is already running');
    const before = await this.#live.readAll(config.key);
    const baseline = Math.max(0, ...Object.values(before).map((v) => fieldOf(v.value, config.field) ?? 0));
    const id = this.#nextId++;
    const startedAtMs = Date.now();
    let s: BurstStatus = { id, config, phase: 'running', startedAtMs, endedAtMs: null, issued: 0, acknowledged: 0, retries: 0, unresolved: 0, inFlight: 0, perNode: {}, lastError: null, result: null };
    const set = (patch: Partial<BurstStatus>): void => {
      s = { ...s, ...patch };
      if (this.#status?.id === id) this.#status = s;
    };
    this.#status = s;
    this.#lab.events.lab('demo.burst-start', { key: config.key, rate: config.rate, durationS: config.durationS, baseline });
    let turn = 0;
    const pending = new Set<Promise<void>>();
    const one = async (): Promise<void> => {
      const idem = `burst-${id}-${randomUUID()}`;
      // One body per increment: a retry must be the same update, or the node refuses the key.
      const body = JSON.stringify({ [config.field]: { $inc: 1 }, last_updated: Date.now() / 1000 });
      const firstMs = Date.now();
      for (let attempt = 0; !this.#closed; attempt++) {
        const nodes = demoNodes(this.#lab).filter((n) => n.running);
        const node = nodes[turn++ % Math.max(1, nodes.length)];
        if (attempt > 0) set({ retries: s.retries + 1 });
        const outcome = node ? await increment(node, config, idem, body) : 'no running node';
        if (outcome === true && node) {
          set({ acknowledged: s.acknowledged + 1, perNode: { ...s.perNode, [node.id]: (s.perNode[node.id] ?? 0) + 1 } });
          return;
        }
        const failure = outcome === true ? 'acknowledged, but no node to credit' : outcome;
        set({ lastError: `${node?.id ?? '-'}: ${failure}` });
        // A 4xx is the request's fault: trying again cannot help.
        if (Date.now() - firstMs > GIVE_UP_MS || /^4\d\d /.test(failure)) break;
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
      set({ unresolved: s.unresolved + 1 });
    };
    const endMs = startedAtMs + config.durationS * 1000;
    this.#timer = setInterval(() => {
      const now = Date.now();
      const due = Math.min(Math.floor(((Math.min(now, endMs) - startedAtMs) / 1000) * config.rate), Math.round(config.durationS * config.rate));
      while (s.issued < due && pending.size < IN_FLIGHT_MAX) {
        const p = one().finally(() => {
          pending.delete(p);
          set({ inFlight: pending.size });
        });
        pending.add(p);
        set({ issued: s.issued + 1, inFlight: pending.size });
      }
      if (now >= endMs && s.issued >= due) {
        if (this.#timer) clearInterval(this.#timer);
        this.#timer = null;
        set({ phase: 'draining' });
        void (async () => {
          while (pending.size > 0) await Promise.allSettled([...pending]);
          set({ phase: 'verifying', endedAtMs: Date.now() });
          const result = await this.#verify(config, baseline, s.acknowledged);
          set({ phase: 'done', result });
          this.#lab.events.lab('demo.burst-done', { key: config.key, acknowledged: s.acknowledged, unresolved: s.unresolved, lost: result.lost, converged: result.converged, finals: result.finals });
        })();
      }
    }, TICK_MS);
    return s;
  }

  /** Waits until every replica of the key holds the same count (or the deadline), then compares. */
  async #verify(config: BurstConfig, baseline: number, acknowledged: number): Promise<BurstResult> {
    const expected = baseline + acknowledged;
    const deadline = Date.now() + VERIFY_DEADLINE_MS;
    let finals: Record<string, number | null> = {};
    let converged = false;
    while (!this.#closed) {
      const values = await this.#live.readAll(config.key);
      finals = Object.fromEntries(Object.entries(values).map(([id, v]) => [id, v.state === 'ok' ? fieldOf(v.value, config.field) : null]));
      const counts = Object.values(finals);
      converged = counts.length > 0 && counts.every((c) => c !== null && c === counts[0]);
      // Converged and complete: every acknowledged increment is there (or it never will be).
      if ((converged && (counts[0] ?? 0) >= expected) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const counts = Object.values(finals).map((c) => c ?? 0);
    const low = counts.length ? Math.min(...counts) : 0;
    const high = counts.length ? Math.max(...counts) : 0;
    return { baseline, expected, finals, converged, lost: Math.max(0, expected - low), extra: Math.max(0, high - expected), checkedAtMs: Date.now() };
  }
}

/** True when acknowledged, else what went wrong. */
async function increment(node: DemoNode, config: BurstConfig, idem: string, body: string): Promise<true | string> {
  try {
    const res = await fetch(`${node.url}${kvPath(config.key)}?w=${config.w}&timeout=${REQUEST_TIMEOUT_MS - 500}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'idempotency-key': idem },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    return res.ok ? true : `${res.status} ${text.slice(0, 160)}`;
  } catch (e) {
    return (e as Error).message;
  }
}

export function fieldOf(doc: unknown, field: string): number | null {
  const v = (doc as Record<string, unknown> | null)?.[field];
  return typeof v === 'number' ? v : null;
}

export function parseBurstConfig(body: unknown): BurstConfig {
  const b = (body ?? {}) as Record<string, unknown>;
  const bad = (field: string, msg: string): never => {
    throw new KvError('KV_BAD_REQUEST', `${field} ${msg}`, { field });
  };
  const key = typeof b.key === 'string' && /^tweet\/[A-Za-z0-9_-]{1,64}$/.test(b.key) ? b.key : bad('key', 'must be tweet/<id>');
  const field = typeof b.field === 'string' && /^(likes|retweets|comments)$/.test(b.field) ? b.field : bad('field', 'must be likes, retweets or comments');
  const num = (name: string, min: number, max: number, dflt: number): number => {
    const v = b[name] ?? dflt;
    return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : bad(name, `must be a number from ${min} to ${max}`);
  };
  return { key, field, rate: num('rate', 1, RATE_MAX, 50), durationS: num('durationS', 1, DURATION_S_MAX, 10), w: Math.round(num('w', 1, 3, 2)) };
}
