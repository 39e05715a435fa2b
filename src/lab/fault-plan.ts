import { KvError } from '../core/errors.ts';
import { FAULT_DELAY_MS_MAX } from '../transport/fault-spec.ts';
import { parseClockSkew } from '../server/clock-skew.ts';
import type { NodeFaults } from '../server/fault-routes.ts';
import type { FaultPlan, LinkFault } from './lab-types.ts';

/** No fault at all. */
export const NO_FAULTS: FaultPlan = { groups: [], links: [], loss: {}, skewMs: {} };

/** A bound on what one request can describe; far more than any Lab cluster has nodes. */
const NODES_MAX = 64;

/**
 * Translates the Lab's view of the network (groups, single links, loss) into the
 * `POST /admin/faults` body of every node. Pure: the same plan always gives the same specs.
 *
 * - groups: nodes in different groups cannot talk; nodes in no group form one more group
 *   together, so `[["n1","n2"],["n3"]]` still cuts off an `n4` added later from both sides;
 *   an empty list (or one group) means no partition.
 * - a cut link isolates its two ends from each other, both directions;
 * - a link delay is set on one end only (the node's injector delays both directions), so a
 *   message between the two is delayed once, not twice;
 * - loss is per node: the chance that any one of its peer messages is lost;
 * - clock skew is per node: its wall clock runs that many ms off (`clockSkewMs`).
 */
export function faultSpecsFor(plan: FaultPlan, nodeIds: readonly string[]): Map<string, NodeFaults> {
  const groupOf = new Map<string, number>();
  plan.groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
  const rest = plan.groups.length;
  const partitioned = plan.groups.length > 1 || (plan.groups.length === 1 && nodeIds.some((id) => !groupOf.has(id)));
  const specs = new Map<string, NodeFaults>();
  for (const id of nodeIds) {
    const isolate = new Set<string>();
    if (partitioned) {
      const mine = groupOf.get(id) ?? rest;
      for (const other of nodeIds) if (other !== id && (groupOf.get(other) ?? rest) !== mine) isolate.add(other);
    }
    const delayMs: Record<string, number> = {};
    for (const link of plan.links) {
      const other = link.a === id ? link.b : link.b === id ? link.a : null;
      if (other === null) continue;
      if (link.cut) isolate.add(other);
      if (link.delayMs && link.delayMs > 0 && id === [link.a, link.b].sort()[0]) delayMs[other] = link.delayMs;
    }
    const spec: NodeFaults = {};
    if (isolate.size > 0) spec.isolate = [...isolate].sort();
    if (Object.keys(delayMs).length > 0) spec.delayMs = delayMs;
    const loss = plan.loss[id];
    if (loss !== undefined && loss > 0) spec.dropRate = loss;
    const skew = plan.skewMs[id];
    if (skew !== undefined && skew !== 0) spec.clockSkewMs = skew;
    specs.set(id, spec);
  }
  return specs;
}

/** Whether a plan injects anything at all. */
export function isHealthy(plan: FaultPlan): boolean {
  return plan.groups.length <= 1 && plan.links.length === 0 && Object.values(plan.loss).every((v) => v === 0) && Object.values(plan.skewMs).every((v) => v === 0);
}

function bad(message: string, details: Record<string, unknown> = {}): KvError {
  return new KvError('KV_BAD_REQUEST', message, details);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(body: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) throw bad(`${what}: unknown field ${JSON.stringify(k)}`, { field: k });
}

function nodeId(v: unknown, known: ReadonlySet<string>, field: string): string {
  if (typeof v !== 'string' || !known.has(v)) throw bad(`${field}: ${JSON.stringify(v)} is not a node of this cluster`, { field, value: v });
  return v;
}

/** `POST /api/partition` `{"groups":[["n1","n2"],["n3"]]}`: disjoint groups of known nodes. */
export function parsePartition(body: unknown, known: ReadonlySet<string>): string[][] {
  if (!isObject(body)) throw bad('expected a JSON object {"groups":[["n1","n2"],["n3"]]}');
  checkFields(body, ['groups'], 'partition');
  const { groups } = body;
  if (!Array.isArray(groups) || groups.length < 1 || groups.length > NODES_MAX) throw bad('groups must be a non-empty array of arrays of node ids', { field: 'groups' });
  const seen = new Set<string>();
  return groups.map((g, i) => {
    if (!Array.isArray(g) || g.length === 0 || g.length > NODES_MAX) throw bad(`groups[${i}] must be a non-empty array of node ids`, { field: 'groups' });
    return g.map((v) => {
      const id = nodeId(v, known, `groups[${i}]`);
      if (seen.has(id)) throw bad(`node ${id} is in two groups`, { field: 'groups', node: id });
      seen.add(id);
      return id;
    });
  });
}

/**
 * `POST /api/links` `{"links":[{"a":"n1","b":"n3","cut":true},{"a":"n1","b":"n2","delayMs":80}],"loss":{"n2":0.1}}`:
 * replaces the single-link faults and the per-node loss (the groups stay as they are).
 */
export function parseLinks(body: unknown, known: ReadonlySet<string>): { links: LinkFault[]; loss: Record<string, number> } {
  if (!isObject(body)) throw bad('expected a JSON object {"links":[{"a":"n1","b":"n2","cut":true,"delayMs":80}],"loss":{"n1":0.1}}');
  checkFields(body, ['links', 'loss'], 'links');
  const linksRaw = body.links ?? [];
  if (!Array.isArray(linksRaw) || linksRaw.length > NODES_MAX * NODES_MAX) throw bad('links must be an array', { field: 'links' });
  const links = linksRaw.map((l, i): LinkFault => {
    if (!isObject(l)) throw bad(`links[${i}] must be an object`, { field: 'links' });
    checkFields(l, ['a', 'b', 'cut', 'delayMs'], `links[${i}]`);
    const a = nodeId(l.a, known, `links[${i}].a`);
    const b = nodeId(l.b, known, `links[${i}].b`);
    if (a === b) throw bad(`links[${i}] joins ${a} to itself`, { field: 'links' });
    if (l.cut !== undefined && typeof l.cut !== 'boolean') throw bad(`links[${i}].cut must be a boolean`, { field: 'cut' });
    const d = l.delayMs;
    if (d !== undefined && (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > FAULT_DELAY_MS_MAX)) {
      throw bad(`links[${i}].delayMs must be a number of ms in [0, ${FAULT_DELAY_MS_MAX}]`, { field: 'delayMs' });
    }
    return { a, b, ...(l.cut ? { cut: true } : {}), ...(d ? { delayMs: d } : {}) };
  });
  const lossRaw = body.loss ?? {};
  if (!isObject(lossRaw)) throw bad('loss must be an object of node id to a rate in [0, 1]', { field: 'loss' });
  const loss: Record<string, number> = {};
  for (const [id, rate] of Object.entries(lossRaw)) {
    nodeId(id, known, 'loss');
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) throw bad(`loss of ${id} must be a number in [0, 1]`, { field: 'loss', node: id });
    loss[id] = rate;
  }
  return { links: links.filter((l) => l.cut || l.delayMs), loss };
}

/** `POST /api/nodes/:id/skew` `{"clockSkewMs":3600000}`: the node's clock offset in ms; 0 sets it right. */
export function parseSkew(body: unknown): number {
  if (!isObject(body)) throw bad('expected a JSON object {"clockSkewMs":3600000}');
  checkFields(body, ['clockSkewMs'], 'skew');
  return parseClockSkew(body.clockSkewMs);
}
