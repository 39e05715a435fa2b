import type {
  CheckerReport,
  CheckerSample,
  ConvergenceRecord,
  FaultPlan,
  LabEvent,
  LabNode,
  LabProcessState,
  LabRun,
  LabState,
  LinkFault,
  NodeHealth,
  TrafficConfig,
  TrafficStatus,
} from './lab-types.ts';

/**
 * Replay of a recorded run (`GET /api/run`, docs/LAB.md): the dashboard as of any moment `t`
 * of the run, computed from the recording alone — the RaftScope idea of a cluster as plain
 * data at a time. Pure and free of Node APIs: the web UI's replay page runs it on every move
 * of its slider, and tests run it directly.
 */

export const RUN_FORMATS = ['nosqldb-lab-run/1', 'nosqldb-lab-run/2'] as const;
/** Events the replayed log shows (the live log keeps as many). */
const EVENTS_SHOWN = 300;

/** A file that is not a run this Lab wrote: the message says where it went wrong. */
export class RunFormatError extends Error {}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(path: string, what: string): never {
  throw new RunFormatError(`not a Lab run: ${path} ${what}`);
}

function num(o: Json, field: string, path: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${field}`, 'must be a number');
  return v;
}

function list(o: Json, field: string, path: string, entry: (e: Json, at: string) => void, optional = false): void {
  const v = o[field];
  if (v === undefined && optional) return;
  if (!Array.isArray(v)) fail(`${path}.${field}`, 'must be an array');
  v.forEach((e, i) => {
    const at = `${path}.${field}[${i}]`;
    if (!isObject(e)) fail(at, 'must be an object');
    entry(e, at);
  });
}

/**
 * Checks that `value` (a parsed JSON file) is a run the Lab exported, down to the fields the
 * replay reads, and returns it typed. Fields of entries the replay does not read are not checked.
 */
export function parseRun(value: unknown): LabRun {
  if (!isObject(value)) fail('the file', 'must hold a JSON object');
  const format = value.format;
  if (typeof format !== 'string' || !(RUN_FORMATS as readonly string[]).includes(format)) fail('format', `must be one of ${RUN_FORMATS.join(', ')} (got ${JSON.stringify(format)})`);
  num(value, 'startedAtMs', 'run');
  if (value.endT !== undefined) num(value, 'endT', 'run');
  list(value, 'nodes', 'run', (n, at) => {
    if (typeof n.id !== 'string') fail(`${at}.id`, 'must be a string');
  });
  list(value, 'history', 'run', (op, at) => {
    num(op, 'invokeT', at);
    num(op, 'completeT', at);
    if (op.f !== 'read' && op.f !== 'write') fail(`${at}.f`, 'must be "read" or "write"');
  });
  list(value, 'events', 'run', (e, at) => {
    if (typeof e.type !== 'string' || typeof e.node !== 'string') fail(at, 'must have a string type and node');
    num(e, 'atMs', at);
  });
  list(value, 'faults', 'run', (f, at) => {
    num(f, 'startT', at);
    if (f.endT !== null) num(f, 'endT', at);
  });
  list(value, 'convergence', 'run', (c, at) => num(c, 'startT', at));
  if (!isObject(value.checker) || !Array.isArray(value.checker.anomalies)) fail('checker', 'must be a checker report with anomalies');
  if (value.series !== undefined) {
    if (!isObject(value.series)) fail('series', 'must map node ids to points');
    for (const id of Object.keys(value.series)) list(value.series, id, 'series', (p, at) => num(p, 't', at));
  }
  list(value, 'trafficSeries', 'run', (p, at) => num(p, 't', at), true);
  list(value, 'nodeStates', 'run', (s, at) => num(s, 't', at), true);
  list(value, 'checkerSeries', 'run', (s, at) => num(s, 't', at), true);
  list(value, 'rings', 'run', (r, at) => num(r, 't', at), true);
  return value as unknown as LabRun;
}

/** Where on the run's time axis (ms since it started) an event happened, by the Lab's clock. */
export function eventT(run: Pick<LabRun, 'startedAtMs'>, e: LabEvent): number {
  return (typeof e.receivedAtMs === 'number' ? e.receivedAtMs : e.atMs) - run.startedAtMs;
}

/** The last moment the run recorded: where the replay's slider ends. */
export function runEndT(run: LabRun): number {
  let end = run.endT ?? 0;
  const see = (t: number): void => {
    if (t > end) end = t;
  };
  for (const op of run.history) see(op.completeT);
  for (const e of run.events) see(eventT(run, e));
  for (const f of run.faults) see(f.endT ?? f.startT);
  for (const pts of Object.values(run.series ?? {})) if (pts.length > 0) see(pts[pts.length - 1]!.t);
  return Math.max(0, end);
}

/** The last element with `t <= at` of a list sorted by `t`. */
function lastAt<T extends { readonly t: number }>(xs: readonly T[] | undefined, at: number): T | undefined {
  let found: T | undefined;
  for (const x of xs ?? []) {
    if (x.t > at) break;
    found = x;
  }
  return found;
}

function upTo<T extends { readonly t: number }>(xs: readonly T[] | undefined, at: number): T[] {
  return (xs ?? []).filter((x) => x.t <= at);
}

/** The dashboard as of `t`: the same `LabState` the live dashboard renders, and the event log, newest first. */
export function stateAt(run: LabRun, t: number): { state: LabState; events: LabEvent[] } {
  const events = run.events.filter((e) => eventT(run, e) <= t);
  const labEvents = events.filter((e) => e.node === 'lab');
  const target = (e: LabEvent): string => (typeof e.target === 'string' ? e.target : '');
  const ring = lastAt(run.rings, t)?.ring ?? null;

  // Which nodes exist at t: those at export and those seen later removed, minus nodes added after t or removed by then.
  const ids = new Set([...run.nodes.map((n) => n.id), ...Object.keys(run.series ?? {}), ...(run.nodeStates ?? []).map((s) => s.id)]);
  for (const e of run.events) if (e.type === 'lab.add' || e.type === 'lab.removed') ids.add(target(e));
  ids.delete('');
  const addedAfter = new Set(run.events.filter((e) => e.type === 'lab.add' && eventT(run, e) > t).map(target));
  const removed = new Set(labEvents.filter((e) => e.type === 'lab.removed').map(target));
  const plan = planAt(labEvents);

  const nodes: LabNode[] = [...ids]
    .filter((id) => !addedAfter.has(id) && !removed.has(id))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((id) => nodeAt(run, id, t, ring, plan.skewMs[id] ?? 0));

  const series = Object.fromEntries(Object.entries(run.series ?? {}).map(([id, pts]) => [id, upTo(pts, t)]));
  const faults = run.faults.filter((f) => f.startT <= t).map((f) => (f.endT !== null && f.endT <= t ? f : { ...f, endT: null }));
  const convergence = run.convergence.filter((c) => c.startT <= t).map((c): ConvergenceRecord => (c.endT !== null && c.endT <= t ? c : { ...c, endT: null, ms: null, state: 'measuring' }));

  return {
    state: {
      startedAtMs: run.startedAtMs,
      nowT: t,
      nodes,
      ring,
      series,
      faults,
      plan,
      traffic: trafficAt(run, labEvents, t),
      trafficSeries: upTo(run.trafficSeries, t),
      checker: checkerAt(run, t),
      convergence,
    },
    events: events.slice(-EVENTS_SHOWN).reverse(),
  };
}

function nodeAt(run: LabRun, id: string, t: number, ring: LabState['ring'], clockSkewMs: number): LabNode {
  const info = run.nodes.find((n) => n.id === id);
  const { health, process } = healthAt(run, id, t);
  const point = lastAt(run.series?.[id], t);
  const port = Number(/:(\d+)$/.exec(info?.url ?? '')?.[1] ?? 0);
  return {
    id,
    url: info?.url ?? '',
    port,
    zone: info?.zone ?? '',
    pid: null,
    process,
    reachable: health !== 'down' && health !== 'starting',
    // Peers' views were not recorded; the card shows none rather than guess.
    seenBy: {},
    health,
    keys: point?.keys ?? null,
    tombstones: null,
    hintsPending: point?.hintsPending ?? null,
    partitionsOwned: ring ? ring.partitions.filter((p) => p.owner === id).length : null,
    uptimeMs: null,
    antiEntropy: null,
    handoff: null,
    faults: null,
    clockSkewMs,
  };
}

/**
 * A node's health at t: the last recorded change (v2 `nodeStates`), else the Lab's
 * `lab.health` events (v1 runs); before the first record, what that record changed from.
 */
function healthAt(run: LabRun, id: string, t: number): { health: NodeHealth; process: LabProcessState } {
  const states = (run.nodeStates ?? []).filter((s) => s.id === id);
  const last = lastAt(states, t);
  if (last) return { health: last.health, process: last.process };
  const changes = run.events.filter((e) => e.node === 'lab' && e.type === 'lab.health' && e.target === id);
  const before = changes.filter((e) => eventT(run, e) <= t).pop();
  const after = changes.find((e) => eventT(run, e) > t);
  const health = (before?.to ?? after?.from ?? (states.length > 0 ? 'starting' : 'up')) as NodeHealth;
  return { health, process: health === 'down' ? 'killed' : health === 'starting' ? 'starting' : 'running' };
}

/** The fault plan as the Lab's own events set it, up to t. */
function planAt(labEvents: readonly LabEvent[]): FaultPlan {
  let plan: FaultPlan = { groups: [], links: [], loss: {}, skewMs: {} };
  for (const e of labEvents) {
    if (e.type === 'lab.partition' && Array.isArray(e.groups)) plan = { ...plan, groups: e.groups as string[][] };
    else if (e.type === 'lab.links') plan = { ...plan, links: (e.links ?? []) as LinkFault[], loss: (e.loss ?? {}) as Record<string, number> };
    else if (e.type === 'lab.skew' && typeof e.target === 'string' && typeof e.skewMs === 'number') plan = { ...plan, skewMs: { ...plan.skewMs, [e.target]: e.skewMs } };
    else if (e.type === 'lab.heal') plan = { groups: [], links: [], loss: {}, skewMs: {} };
  }
  return plan;
}

function trafficAt(run: LabRun, labEvents: readonly LabEvent[], t: number): TrafficStatus {
  const switches = labEvents.filter((e) => e.type === 'lab.traffic-start' || e.type === 'lab.traffic-config' || e.type === 'lab.traffic-stop');
  const last = switches[switches.length - 1];
  const lastConfig = [...switches].reverse().find((e) => e.config !== undefined)?.config as TrafficConfig | undefined;
  let ops = 0;
  let ok = 0;
  let inFlight = 0;
  for (const op of run.history) {
    if (op.invokeT > t) continue;
    if (op.completeT > t) inFlight++;
    else {
      ops++;
      if (op.type === 'ok') ok++;
    }
  }
  const config = lastConfig ?? run.traffic ?? { rate: 0, readRatio: 0, keys: 0, r: 0, w: 0 };
  return { running: last !== undefined && last.type !== 'lab.traffic-stop', config, ops: ops + inFlight, ok, failed: ops - ok, inFlight };
}

/** The checker's counters at t (sampled in v2 runs; counted from the history in v1), and the anomalies found by then. */
function checkerAt(run: LabRun, t: number): CheckerReport {
  const anomalies = run.checker.anomalies.filter((a) => a.t <= t);
  const { t: _at, ...counts } = run.checkerSeries ? (lastAt(run.checkerSeries, t) ?? { t: 0, ...NO_COUNTS }) : { t, ...countHistory(run, t, anomalies) };
  return { name: run.checker.name, ...counts, siblingRate: counts.reads > 0 ? counts.siblingReads / counts.reads : 0, anomalies };
}

type CheckerCounts = Omit<CheckerSample, 't'>;
const NO_COUNTS: CheckerCounts = { reads: 0, writes: 0, acknowledgedWrites: 0, staleReads: 0, lostWrites: 0, siblingReads: 0 };

function countHistory(run: LabRun, t: number, anomalies: CheckerReport['anomalies']): CheckerCounts {
  let reads = 0;
  let writes = 0;
  let acknowledgedWrites = 0;
  let siblingReads = 0;
  for (const op of run.history) {
    if (op.completeT > t) continue;
    if (op.f === 'read') {
      // As RegisterChecker counts: acknowledged reads only.
      if (op.type !== 'ok' || !Array.isArray(op.value)) continue;
      reads++;
      if (op.value.length > 1) siblingReads++;
    } else {
      writes++;
      if (op.type === 'ok') acknowledgedWrites++;
    }
  }
  const count = (kind: string): number => anomalies.filter((a) => a.kind === kind).length;
  return { reads, writes, acknowledgedWrites, staleReads: count('stale-read'), lostWrites: count('lost-write'), siblingReads };
}
