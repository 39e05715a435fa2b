import { KvError } from '../core/errors.ts';
import type { ClusterBackend } from '../cluster/cluster-backend.ts';
import { RegisterChecker, type Anomaly, type HistoryOp, type OnlineChecker } from './checker.ts';
import { ClusterMonitor } from './cluster-monitor.ts';
import { ConvergenceMeter } from './convergence.ts';
import { EventStream } from './event-stream.ts';
import { faultSpecsFor, isHealthy, NO_FAULTS } from './fault-plan.ts';
import type { CheckerSample, FaultInterval, FaultPlan, LabNode, LabRun, LabState, LinkFault, NodeHealth, NodeStateChange, TrafficConfig } from './lab-types.ts';
import { skewLabel } from './skew-label.ts';
import { TrafficGenerator } from './traffic.ts';

const ADMIN_TIMEOUT_MS = 2000;
/** A decommission hands data over first; past this the node is stopped anyway, and says so. */
const LEAVE_TIMEOUT_MS = 60_000;
const INTERVALS_MAX = 500;
/** Anomaly events are batched at most this often, so a stale-read storm does not drown the log. */
const ANOMALY_FLUSH_MS = 1000;
/** Largest node port the Lab hands out (its peer port is 1000 higher). */
const PORT_MAX = 64_535;
/** Health changes kept for a replay: a kill and restart make about four per node. */
const NODE_STATES_MAX = 5000;
/** Checker counters are sampled this often for a replay (the charts' resolution too). */
const CHECKER_SAMPLE_MS = 1000;
/** Checker samples kept (ten minutes, like the chart series). */
const CHECKER_SAMPLES_MAX = 600;

/**
 * The Lab's state and every action it can take on the cluster: the one object the HTTP API
 * calls. It owns the monitor (what the nodes say), the merged event stream, the traffic
 * generator with its checker, convergence measurements, and the fault plan it injects.
 */
export class LabController {
  readonly cluster: ClusterBackend;
  readonly startedAtMs = Date.now();
  readonly events = new EventStream();
  readonly monitor: ClusterMonitor;
  readonly traffic: TrafficGenerator;
  readonly convergence: ConvergenceMeter;
  checker: OnlineChecker = new RegisterChecker();
  #plan: FaultPlan = NO_FAULTS;
  #intervals: FaultInterval[] = [];
  #nextInterval = 1;
  #pendingAnomalies: Anomaly[] = [];
  #anomalyTimer: NodeJS.Timeout | null = null;
  #leaving = new Set<string>();
  #nodeStates: NodeStateChange[] = [];
  #checkerSamples: CheckerSample[] = [];
  #sampleTimer: NodeJS.Timeout | null = null;

  constructor(cluster: ClusterBackend) {
    this.cluster = cluster;
    this.monitor = new ClusterMonitor(cluster, this.startedAtMs, (id, from, to) => this.#healthChanged(id, from, to));
    this.traffic = new TrafficGenerator({
      targets: () => this.cluster.nodes().filter((n) => n.state === 'running'),
      now: () => this.now(),
      onOp: (op) => this.#observe(op),
      onInvoke: (f, key, value, t) => this.checker.invoke(f, key, value, t),
    });
    this.convergence = new ConvergenceMeter({
      replicas: () => this.monitor.nodes().filter((n) => n.reachable),
      ring: () => this.monitor.ring(),
      keys: () => this.traffic.keys(),
      now: () => this.now(),
      onConverged: (values, record) => {
        for (const [key, v] of values) this.#anomalies(this.checker.final(key, v, record.endT ?? this.now()));
        this.events.lab('lab.converged', { fault: record.fault, ms: record.ms, method: record.method, detail: record.detail });
      },
    });
  }

  /** Milliseconds since the Lab started: the time axis of every chart and of the history. */
  now(): number {
    return Date.now() - this.startedAtMs;
  }

  start(): void {
    for (const n of this.cluster.nodes()) this.events.watch(n.id, n.url);
    this.monitor.start();
    void this.monitor.pollStatus();
    this.#sampleTimer = setInterval(() => this.#sampleChecker(), CHECKER_SAMPLE_MS);
  }

  async close(): Promise<void> {
    if (this.#sampleTimer) clearInterval(this.#sampleTimer);
    this.monitor.stop();
    this.convergence.close();
    await this.traffic.stop();
    if (this.#anomalyTimer) clearTimeout(this.#anomalyTimer);
    this.events.close();
  }

  state(): LabState {
    return {
      startedAtMs: this.startedAtMs,
      nowT: this.now(),
      nodes: this.monitor.nodes(),
      ring: this.monitor.ring(),
      series: this.monitor.series(),
      faults: this.#intervals,
      plan: this.#plan,
      traffic: this.traffic.status(),
      trafficSeries: this.traffic.series(),
      checker: this.checker.report(),
      convergence: this.convergence.records(),
    };
  }

  nodeIds(): Set<string> {
    return new Set(this.cluster.nodes().map((n) => n.id));
  }

  node(id: string): LabNode {
    const n = this.monitor.nodes().find((x) => x.id === id);
    if (!n) throw new KvError('KV_NOT_FOUND', `no node ${id} in this cluster`, { node: id });
    return n;
  }

  // --- processes ---------------------------------------------------------------------------

  async kill(id: string): Promise<LabNode> {
    const n = this.node(id);
    if (n.process === 'running' || n.process === 'starting') {
      this.cluster.kill(id);
      this.events.lab('lab.kill', { target: id, pid: n.pid });
      this.#open('kill', `${id} killed`);
    }
    await this.monitor.pollStatus();
    return this.node(id);
  }

  async restart(id: string): Promise<LabNode> {
    const n = this.node(id);
    if (n.process === 'running' || n.process === 'starting') throw new KvError('KV_BAD_REQUEST', `node ${id} is ${n.process}; kill it first`, { node: id, process: n.process });
    this.cluster.restart(id);
    this.events.lab('lab.restart', { target: id });
    this.#close('kill', id);
    this.convergence.start(`restart ${id}`, [id]);
    await this.monitor.pollStatus();
    return this.node(id);
  }

  /** A new node `n{max+1}` on the next free port; started with seeds, it joins by itself. */
  async add(zone: string | undefined): Promise<LabNode> {
    const nodes = this.cluster.nodes();
    const nextNum = Math.max(0, ...nodes.map((n) => Number(/^n(\d+)$/.exec(n.id)?.[1] ?? 0))) + 1;
    const port = Math.max(...nodes.map((n) => n.port)) + 1;
    if (port > PORT_MAX) throw new KvError('KV_BAD_REQUEST', 'no free port left for a new node');
    const id = `n${nextNum}`;
    this.cluster.start([{ id, port, ...(zone ? { zone } : {}) }]);
    this.events.watch(id, this.cluster.urlOf(id));
    this.events.lab('lab.add', { target: id, port, zone: zone ?? 'default' });
    return this.node(id);
  }

  /** Decommission: the node leaves (handing its data over), then its process is stopped. */
  async decommission(id: string): Promise<LabNode> {
    const n = this.node(id);
    if (n.process !== 'running') throw new KvError('KV_BAD_REQUEST', `node ${id} is ${n.process}; only a running node can leave`, { node: id });
    if (this.#leaving.has(id)) return n;
    this.#leaving.add(id);
    this.events.lab('lab.decommission', { target: id });
    void (async () => {
      let outcome = 'left';
      try {
        const res = await fetch(`${n.url}/admin/leave`, { method: 'POST', signal: AbortSignal.timeout(LEAVE_TIMEOUT_MS) });
        if (!res.ok) outcome = `leave answered ${res.status}`;
        await res.arrayBuffer();
      } catch (e) {
        outcome = `leave failed: ${(e as Error).message}`;
      }
      await this.cluster.stopNode(id);
      this.cluster.remove(id);
      this.events.unwatch(id);
      this.monitor.forget(id);
      this.#leaving.delete(id);
      this.events.lab('lab.removed', { target: id, outcome });
    })();
    return n;
  }

  // --- network faults ----------------------------------------------------------------------

  plan(): FaultPlan {
    return this.#plan;
  }

  async partition(groups: string[][]): Promise<FaultPlan> {
    this.#close('partition');
    this.#plan = { ...this.#plan, groups };
    const label = groups.map((g) => g.join(',')).join(' | ');
    if (groups.length > 1) this.#open('partition', `partition ${label}`);
    this.events.lab('lab.partition', { groups });
    await this.#apply();
    return this.#plan;
  }

  async setLinks(links: LinkFault[], loss: Record<string, number>): Promise<FaultPlan> {
    const hadLinks = this.#plan.links.length > 0 || Object.values(this.#plan.loss).some((v) => v > 0);
    this.#plan = { ...this.#plan, links, loss };
    const hasLinks = links.length > 0 || Object.values(loss).some((v) => v > 0);
    this.#close('links');
    if (hasLinks) {
      const parts = links.map((l) => `${l.a}–${l.b}${l.cut ? ' cut' : ''}${l.delayMs ? ` +${l.delayMs}ms` : ''}`);
      for (const [id, rate] of Object.entries(loss)) if (rate > 0) parts.push(`${id} loss ${Math.round(rate * 100)}%`);
      this.#open('links', parts.join(', '));
    }
    this.events.lab('lab.links', { links, loss });
    await this.#apply();
    if (hadLinks && !hasLinks && isHealthy(this.#plan)) this.convergence.start('links healed');
    return this.#plan;
  }

  /**
   * Sets a node's clock `skewMs` off real time (0 sets it right): the node stamps its writes'
   * HLC and its events with that clock (src/server/clock-skew.ts). Drawn as a band per node.
   */
  async skew(id: string, skewMs: number): Promise<FaultPlan> {
    this.node(id);
    const { [id]: _old, ...others } = this.#plan.skewMs;
    this.#plan = { ...this.#plan, skewMs: skewMs === 0 ? others : { ...others, [id]: skewMs } };
    this.#close('skew', id);
    if (skewMs !== 0) this.#open('skew', `${id} clock ${skewLabel(skewMs)}`);
    this.events.lab('lab.skew', { target: id, skewMs });
    await this.#apply();
    return this.#plan;
  }

  /** Restores everything: groups, links, loss and clocks. */
  async heal(): Promise<FaultPlan> {
    const open = this.#intervals.filter((i) => i.endT === null && (i.kind === 'partition' || i.kind === 'links'));
    this.#plan = NO_FAULTS;
    this.#close('partition');
    this.#close('links');
    this.#close('skew');
    this.events.lab('lab.heal', {});
    await this.#apply();
    this.convergence.start(open.length ? `heal (${open.map((i) => i.label).join('; ')})` : 'heal');
    return this.#plan;
  }

  /** Sends every running node its share of the plan. Returns the nodes that did not take it. */
  async #apply(only?: string): Promise<string[]> {
    const nodes = this.cluster.nodes();
    const specs = faultSpecsFor(this.#plan, nodes.map((n) => n.id));
    const failed: string[] = [];
    await Promise.all(
      nodes
        .filter((n) => n.state === 'running' && (only === undefined || n.id === only))
        .map(async (n) => {
          const spec = specs.get(n.id) ?? {};
          const empty = Object.keys(spec).length === 0;
          try {
            const res = await fetch(`${n.url}/admin/faults`, {
              method: empty ? 'DELETE' : 'POST',
              ...(empty ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) }),
              signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
            });
            await res.arrayBuffer();
            if (!res.ok) failed.push(n.id);
          } catch {
            failed.push(n.id);
          }
        }),
    );
    if (failed.length > 0) this.events.lab('lab.faults-not-applied', { nodes: failed });
    return failed;
  }

  #healthChanged(id: string, from: NodeHealth | undefined, to: NodeHealth): void {
    if (from !== undefined) this.events.lab('lab.health', { target: id, from, to });
    const process = this.cluster.nodes().find((n) => n.id === id)?.state ?? 'exited';
    this.#nodeStates.push({ t: this.now(), id, health: to, process });
    if (this.#nodeStates.length > NODE_STATES_MAX) this.#nodeStates.shift();
    // A restarted node forgot its injected faults (they live in memory): give them back.
    if (to !== 'down' && to !== 'starting' && (from === 'down' || from === 'starting') && !isHealthy(this.#plan)) void this.#apply(id);
  }

  // --- traffic, checker --------------------------------------------------------------------

  startTraffic(config: TrafficConfig): void {
    const wasRunning = this.traffic.running();
    this.traffic.start(config);
    this.events.lab(wasRunning ? 'lab.traffic-config' : 'lab.traffic-start', { config });
  }

  async stopTraffic(): Promise<void> {
    if (!this.traffic.running()) return;
    await this.traffic.stop();
    this.events.lab('lab.traffic-stop', { ops: this.traffic.status().ops });
  }

  #observe(op: HistoryOp): void {
    this.#anomalies(this.checker.observe(op));
  }

  #anomalies(found: Anomaly[]): void {
    if (found.length === 0) return;
    this.#pendingAnomalies.push(...found);
    this.#anomalyTimer ??= setTimeout(() => {
      this.#anomalyTimer = null;
      const batch = this.#pendingAnomalies;
      this.#pendingAnomalies = [];
      const counts: Record<string, number> = {};
      for (const a of batch) counts[a.kind] = (counts[a.kind] ?? 0) + 1;
      this.events.lab('lab.anomaly', { counts, example: batch[batch.length - 1] });
    }, ANOMALY_FLUSH_MS);
  }

  #sampleChecker(): void {
    const { reads, writes, acknowledgedWrites, staleReads, lostWrites, siblingReads } = this.checker.report();
    const last = this.#checkerSamples[this.#checkerSamples.length - 1];
    // Only changes: an idle Lab records nothing, and a replay holds the last value in between.
    if (last && last.reads === reads && last.writes === writes && last.acknowledgedWrites === acknowledgedWrites && last.staleReads === staleReads && last.lostWrites === lostWrites && last.siblingReads === siblingReads) return;
    this.#checkerSamples.push({ t: this.now(), reads, writes, acknowledgedWrites, staleReads, lostWrites, siblingReads });
    if (this.#checkerSamples.length > CHECKER_SAMPLES_MAX) this.#checkerSamples.shift();
  }

  /**
   * A recorded run: history (Jepsen-style ops), events, faults, convergence and checker, and
   * everything the dashboard drew over time (chart series, node health changes, checker
   * counters, rings), so the replay page can show the dashboard as of any moment (docs/LAB.md).
   */
  exportRun(): LabRun {
    this.#sampleChecker();
    return {
      format: 'nosqldb-lab-run/2',
      startedAtMs: this.startedAtMs,
      exportedAtMs: Date.now(),
      endT: this.now(),
      timeAxis: 'ms since startedAtMs',
      nodes: this.monitor.nodes().map(({ id, url, zone }) => ({ id, url, zone })),
      traffic: this.traffic.status().config,
      history: this.traffic.history(),
      events: this.events.events(),
      faults: this.#intervals,
      convergence: this.convergence.records(),
      checker: this.checker.report(),
      series: this.monitor.series(),
      trafficSeries: this.traffic.series(),
      nodeStates: this.#nodeStates,
      checkerSeries: this.#checkerSamples,
      rings: this.monitor.rings(),
    };
  }

  #open(kind: FaultInterval['kind'], label: string): void {
    this.#intervals.push({ id: this.#nextInterval++, kind, label, startT: this.now(), endT: null });
    if (this.#intervals.length > INTERVALS_MAX) this.#intervals.shift();
  }

  /** Ends the open intervals of a kind; with `id`, only that node's (their labels start with it). */
  #close(kind: FaultInterval['kind'], id?: string): void {
    const t = this.now();
    this.#intervals = this.#intervals.map((i) => {
      if (i.endT !== null) return i;
      const matches = i.kind === kind && (id === undefined || i.label.startsWith(`${id} `));
      return matches ? { ...i, endT: t } : i;
    });
  }
}
