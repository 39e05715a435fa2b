import { KvError } from '../core/errors.ts';
import type { HistoryOp } from './checker.ts';
import type { ThroughputPoint, TrafficConfig, TrafficStatus } from './lab-types.ts';

export const TRAFFIC_DEFAULTS: TrafficConfig = { rate: 20, readRatio: 0.5, keys: 10, r: 2, w: 2 };
/** Far above what two shared cores sustain through the Lab; a bound, not a target. */
export const TRAFFIC_RATE_MAX = 2000;
export const TRAFFIC_KEYS_MAX = 10_000;
/** Requests outstanding at once; beyond this the generator skips ops rather than queue them. */
const IN_FLIGHT_MAX = 128;
/** History kept for the checker view and the export (the oldest ops are dropped). */
export const HISTORY_MAX = 50_000;
const TICK_MS = 50;
/** Each request's own time-out on the node (`?timeout=`), and the client's, a bit longer. */
const REQUEST_TIMEOUT_MS = 1000;
const CLIENT_TIMEOUT_MS = 2000;
const SERIES_MAX = 600;

export interface TrafficTarget {
  readonly id: string;
  readonly url: string;
}

export interface TrafficOptions {
  /** Nodes to send requests to (round-robin), asked at every op. */
  readonly targets: () => readonly TrafficTarget[];
  /** Milliseconds since the Lab started: the history's time axis. */
  readonly now: () => number;
  readonly onOp: (op: HistoryOp) => void;
  /** A request is about to be sent (writes carry their value). */
  readonly onInvoke?: (f: 'read' | 'write', key: string, value: string | null, invokeT: number) => void;
}

/**
 * The Lab's load generator: a steady rate of reads and writes of `lab/k0..k{keys-1}` spread
 * over the nodes, each write a unique value written with the context of the last answer for
 * its key, each op recorded with invocation and completion time for the checker.
 */
export class TrafficGenerator {
  readonly #opts: TrafficOptions;
  #config: TrafficConfig = TRAFFIC_DEFAULTS;
  #timer: NodeJS.Timeout | null = null;
  #credit = 0;
  #lastTickMs = 0;
  #seq = 0;
  #rr = 0;
  #run = '';
  #inFlight = 0;
  #ops = 0;
  #ok = 0;
  #failed = 0;
  readonly #contexts = new Map<string, string>();
  readonly #history: HistoryOp[] = [];
  readonly #series: ThroughputPoint[] = [];
  #bucket = { second: -1, ok: 0, failed: 0 };
  #pending = new Set<Promise<void>>();

  constructor(options: TrafficOptions) {
    this.#opts = options;
  }

  start(config: TrafficConfig): void {
    this.#config = config;
    if (this.#timer) return;
    this.#run = Date.now().toString(36);
    this.#lastTickMs = Date.now();
    this.#credit = 0;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops issuing ops and waits for those in flight. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await Promise.allSettled([...this.#pending]);
  }

  running(): boolean {
    return this.#timer !== null;
  }

  keys(): string[] {
    return Array.from({ length: this.#config.keys }, (_, i) => `lab/k${i}`);
  }

  status(): TrafficStatus {
    return { running: this.running(), config: this.#config, ops: this.#ops, ok: this.#ok, failed: this.#failed, inFlight: this.#inFlight };
  }

  history(): readonly HistoryOp[] {
    return this.#history;
  }

  series(): readonly ThroughputPoint[] {
    return this.#series;
  }

  #tick(): void {
    const now = Date.now();
    this.#credit = Math.min(this.#credit + ((now - this.#lastTickMs) / 1000) * this.#config.rate, this.#config.rate);
    this.#lastTickMs = now;
    while (this.#credit >= 1) {
      this.#credit--;
      if (this.#inFlight >= IN_FLIGHT_MAX) continue;
      const targets = this.#opts.targets();
      if (targets.length === 0) return;
      const target = targets[this.#rr++ % targets.length]!;
      const key = `lab/k${Math.floor(Math.random() * this.#config.keys)}`;
      const p = Math.random() < this.#config.readRatio ? this.#read(target, key) : this.#write(target, key);
      this.#pending.add(p);
      void p.finally(() => this.#pending.delete(p));
    }
  }

  async #read(target: TrafficTarget, key: string): Promise<void> {
    const invokeT = this.#begin();
    this.#opts.onInvoke?.('read', key, null, invokeT);
    let status = 0;
    let value: string[] | null = null;
    try {
      const res = await fetch(`${target.url}/kv/${key}?r=${this.#config.r}&timeout=${REQUEST_TIMEOUT_MS}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
      status = res.status;
      const context = res.headers.get('x-context');
      if (context) this.#contexts.set(key, context);
      if (status === 200) value = [String(await res.json())];
      else if (status === 300) value = ((await res.json()) as { siblings: { value: unknown }[] }).siblings.map((s) => String(s.value));
      else if (status === 404) value = [];
      else await res.arrayBuffer();
    } catch {
      status = 0;
    }
    this.#end({ id: 0, process: target.id, f: 'read', key, value, invokeT, completeT: this.#opts.now(), type: value ? 'ok' : status >= 400 && status < 500 ? 'fail' : 'info', status });
  }

  async #write(target: TrafficTarget, key: string): Promise<void> {
    const value = `${this.#run}-${++this.#seq}`;
    const invokeT = this.#begin();
    this.#opts.onInvoke?.('write', key, value, invokeT);
    let status = 0;
    try {
      const context = this.#contexts.get(key);
      const res = await fetch(`${target.url}/kv/${key}?w=${this.#config.w}&timeout=${REQUEST_TIMEOUT_MS}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(context ? { 'x-context': context } : {}) },
        body: JSON.stringify(value),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      status = res.status;
      const body = (await res.json()) as { context?: unknown };
      if (status === 200 && typeof body.context === 'string') this.#contexts.set(key, body.context);
    } catch {
      // A time-out or refused connection: the write may or may not have happened.
    }
    this.#end({ id: 0, process: target.id, f: 'write', key, value, invokeT, completeT: this.#opts.now(), type: status === 200 ? 'ok' : status >= 400 && status < 500 ? 'fail' : 'info', status });
  }

  #begin(): number {
    this.#inFlight++;
    this.#ops++;
    return this.#opts.now();
  }

  #end(op: HistoryOp): void {
    this.#inFlight--;
    const recorded = { ...op, id: this.#history.length === 0 ? 1 : this.#history[this.#history.length - 1]!.id + 1 };
    this.#history.push(recorded);
    if (this.#history.length > HISTORY_MAX) this.#history.shift();
    const ok = op.type === 'ok';
    if (ok) this.#ok++;
    else this.#failed++;
    const second = Math.floor(op.completeT / 1000);
    if (second !== this.#bucket.second) {
      if (this.#bucket.second >= 0) this.#series.push({ t: this.#bucket.second * 1000, ok: this.#bucket.ok, failed: this.#bucket.failed });
      if (this.#series.length > SERIES_MAX) this.#series.shift();
      this.#bucket = { second, ok: 0, failed: 0 };
    }
    if (ok) this.#bucket.ok++;
    else this.#bucket.failed++;
    this.#opts.onOp(recorded);
  }
}

/** `POST /api/traffic` `{"rate":20,"readRatio":0.5,"keys":10,"r":2,"w":2}` (all optional). */
export function parseTrafficConfig(body: unknown, current: TrafficConfig, n: number): TrafficConfig {
  if (body === undefined || body === null) return current;
  if (typeof body !== 'object' || Array.isArray(body)) throw new KvError('KV_BAD_REQUEST', 'expected a JSON object {"rate":20,"readRatio":0.5,"keys":10,"r":2,"w":2}');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!['rate', 'readRatio', 'keys', 'r', 'w'].includes(k)) throw new KvError('KV_BAD_REQUEST', `traffic: unknown field ${JSON.stringify(k)}`, { field: k });
  const num = (field: string, min: number, max: number, integer: boolean, fallback: number): number => {
    const v = b[field];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new KvError('KV_BAD_REQUEST', `traffic: ${field} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`, { field });
    }
    return v;
  };
  return {
    rate: num('rate', 0.1, TRAFFIC_RATE_MAX, false, current.rate),
    readRatio: num('readRatio', 0, 1, false, current.readRatio),
    keys: num('keys', 1, TRAFFIC_KEYS_MAX, true, current.keys),
    r: num('r', 1, n, true, Math.min(current.r, n)),
    w: num('w', 1, n, true, Math.min(current.w, n)),
  };
}
