import type { FastifyInstance } from 'fastify';
import { KvError } from '../core/errors.ts';
import { errorMessage, keyPath, nodeUrl, NODE_TIMEOUT_MS, pool, readKey, runningNodes, type KeyRead } from './collab-node-client.ts';
import type { LabController } from './lab-controller.ts';

/**
 * CollabDocs' server side (issue 9): thin, honest wrappers over the node API so the browser
 * can read and write a document through a *chosen* node (browsers cannot reach node ports).
 * Every paragraph is one key `docs/<doc>/<paragraph>`, written with the context its editor saw.
 *
 * | request | result |
 * |---|---|
 * | `GET /api/collab/doc?doc=D&node=n1` | every paragraph read through n1: `{paragraphs:[{key,status,versions,context}]}` |
 * | `PUT /api/collab/para` `{node,key,value,context?,w?}` | the write through that node: `{context,vectorClock}` |
 * | `POST /api/collab/seed` `{doc}` | writes the sample "Project Proposal" when the document is empty |
 * | `GET /api/collab/replicas?doc=D` | each node's own copy (`?local=true`) of every paragraph |
 * | `POST /api/collab/simulate-conflict` `{doc,key,a:{editor,node,html},b:{…}}` | partition, two writes with the same context, heal, wait for siblings |
 * | `POST /api/collab/anti-entropy` | one anti-entropy exchange on every running node now |
 */

/** Paragraph keys per document the demo reads at most (a document is a page, not a book). */
const PARAGRAPHS_MAX = 50;
/** How long the simulated conflict waits for both versions to reach every replica. */
const CONFLICT_SETTLE_MS = 12_000;
/** A list asks every member; a dead one must not stall each poll for the full request timeout. */
const LIST_TIMEOUT_MS = 700;
const DOC_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface ParagraphValue {
  readonly html: string;
  readonly editor: string;
  readonly node: string;
  readonly editedAtMs: number;
  readonly history: readonly { clock: Record<string, number>; editor: string; node: string; text: string }[];
}

const SAMPLE: readonly [string, string, string, string][] = [
  ['p1', 'Alice', 'n1', '<p>The project aims to revolutionize how teams share <b>live documents</b> across continents.</p>'],
  ['p2', 'Bob', 'n2', '<p>Implementation will use distributed key-value storage with <i>vector clocks</i> for causality.</p>'],
  ['p3', 'Alice', 'n1', '<p>Budget: $60,000</p>'],
  ['p4', 'Bob', 'n2', '<ul><li>Milestone 1: prototype</li><li>Milestone 2: pilot</li></ul>'],
];

function docOf(v: unknown): string {
  if (typeof v !== 'string' || !DOC_RE.test(v)) throw new KvError('KV_BAD_REQUEST', 'doc must be 1..64 letters, digits, _ or -', { field: 'doc' });
  return v;
}

function paragraphKey(v: unknown): string {
  if (typeof v !== 'string' || !/^docs\/[A-Za-z0-9_-]{1,64}\/[A-Za-z0-9_-]{1,64}$/.test(v)) throw new KvError('KV_BAD_REQUEST', 'key must be docs/<doc>/<paragraph>', { field: 'key' });
  return v;
}

function nodeOf(lab: LabController, v: unknown): string {
  if (typeof v !== 'string') throw new KvError('KV_BAD_REQUEST', 'node is required', { field: 'node' });
  return nodeUrl(lab, v);
}

async function listKeys(base: string, doc: string): Promise<string[]> {
  const res = await fetch(`${base}/kv?prefix=${encodeURIComponent(`docs/${doc}/`)}&limit=${PARAGRAPHS_MAX}&timeout=${LIST_TIMEOUT_MS}`, { signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
  const text = await res.text();
  if (!res.ok) throw new KvError(res.status === 503 ? 'KV_QUORUM_NOT_MET' : 'KV_BAD_REQUEST', errorMessage(text, res.status));
  return (JSON.parse(text) as { keys: string[] }).keys;
}

export async function writeParagraph(base: string, key: string, value: unknown, context: string | null, w?: string): Promise<{ status: number; context?: string; vectorClock?: Record<string, number>; error?: string }> {
  const res = await fetch(`${base}/kv/${keyPath(key)}${w ? `?w=${encodeURIComponent(w)}` : ''}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(context ? { 'x-context': context } : {}) },
    body: JSON.stringify(value),
    signal: AbortSignal.timeout(NODE_TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) return { status: res.status, error: errorMessage(text, res.status) };
  const body = JSON.parse(text) as { context: string; vectorClock: Record<string, number> };
  return { status: 200, context: body.context, vectorClock: body.vectorClock };
}

function textOf(html: string): string {
  return html.replace(/<\/(p|li|div)>/g, '\n').replace(/<[^>]*>/g, '').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').trim();
}

export function registerCollabRoutes(app: FastifyInstance, lab: LabController): void {
  app.get('/api/collab/doc', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const doc = docOf(q.doc);
    const base = nodeOf(lab, q.node);
    const keys = await listKeys(base, doc);
    const paragraphs = await pool(keys, 8, (k) => readKey(base, k));
    return { node: q.node, doc, paragraphs };
  });

  app.put('/api/collab/para', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const base = nodeOf(lab, b.node);
    const key = paragraphKey(b.key);
    const context = typeof b.context === 'string' && b.context.length > 0 ? b.context : null;
    const w = typeof b.w === 'string' && /^(one|quorum|all|[1-9])$/.test(b.w) ? b.w : undefined;
    const out = await writeParagraph(base, key, b.value, context, w);
    return reply.code(out.status === 200 ? 200 : out.status).send(out.status === 200 ? out : { error: { code: 'KV_WRITE_FAILED', message: out.error ?? 'write failed' } });
  });

  app.post('/api/collab/seed', async (req) => {
    const doc = docOf(((req.body ?? {}) as Record<string, unknown>).doc);
    const running = runningNodes(lab);
    const base = nodeUrl(lab, running[0] ?? 'n1');
    const keys = await listKeys(base, doc);
    if (keys.length > 0) return { created: 0 };
    let created = 0;
    for (const [p, editor, node, html] of SAMPLE) {
      const via = running.includes(node) ? node : (running[0] ?? node);
      const value: ParagraphValue = { html, editor, node: via, editedAtMs: Date.now(), history: [] };
      const out = await writeParagraph(nodeUrl(lab, via), `docs/${doc}/${p}`, value, null);
      if (out.status === 200) created++;
    }
    return { created };
  });

  app.get('/api/collab/replicas', async (req) => {
    const doc = docOf((req.query as Record<string, string | undefined>).doc);
    const nodes = lab.cluster.nodes();
    const running = nodes.filter((n) => n.state === 'running');
    let keys: string[] = [];
    for (const n of running) {
      try {
        keys = await listKeys(n.url, doc);
        break;
      } catch {
        // try the next node
      }
    }
    const copies: Record<string, Record<string, KeyRead | null>> = {};
    await Promise.all(
      nodes.map(async (n) => {
        const row: Record<string, KeyRead | null> = {};
        if (n.state !== 'running') {
          for (const k of keys) row[k] = null;
        } else {
          const reads = await pool(keys, 8, (k) => readKey(n.url, k, { local: true }));
          reads.forEach((r) => (row[r.key] = r));
        }
        copies[n.id] = row;
      }),
    );
    return { doc, keys, nodes: nodes.map((n) => ({ id: n.id, zone: n.zone, state: n.state })), copies };
  });

  app.post('/api/collab/anti-entropy', async () => {
    const results = await Promise.all(
      runningNodes(lab).map(async (id) => {
        try {
          const res = await fetch(`${nodeUrl(lab, id)}/admin/anti-entropy`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
          return { node: id, ok: res.ok, result: (await res.json()) as unknown };
        } catch (e) {
          return { node: id, ok: false, result: (e as Error).message };
        }
      }),
    );
    lab.events.lab('collab.anti-entropy', { nodes: results.map((r) => r.node) });
    return { results };
  });

  app.post('/api/collab/simulate-conflict', async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const key = paragraphKey(b.key);
    const sides = [b.a, b.b].map((s) => {
      const o = (s ?? {}) as Record<string, unknown>;
      if (typeof o.editor !== 'string' || typeof o.html !== 'string' || typeof o.node !== 'string') throw new KvError('KV_BAD_REQUEST', 'a and b need {editor,node,html}');
      nodeUrl(lab, o.node);
      return { editor: o.editor.slice(0, 40), node: o.node, html: o.html.slice(0, 4000) };
    });
    const [a, bb] = sides as [(typeof sides)[number], (typeof sides)[number]];
    if (a.node === bb.node) throw new KvError('KV_BAD_REQUEST', 'the two editors must write through different nodes');
    const all = runningNodes(lab);
    if (!all.includes(a.node) || !all.includes(bb.node)) throw new KvError('KV_BAD_REQUEST', 'both editors\' nodes must be running');
    // What both editors saw before the cut: the same context, so neither write sees the other.
    const before = await readKey(nodeUrl(lab, a.node), key);
    const seen = before.versions.map((v) => ({ clock: v.vectorClock, ...(v.value as ParagraphValue) }));
    const history = [
      ...(seen[0]?.history ?? []).slice(-10),
      ...seen.map((s) => ({ clock: s.clock, editor: s.editor, node: s.node, text: textOf(s.html ?? '') })),
    ];
    const groupA = [a.node];
    const groupB = all.filter((id) => id !== a.node);
    lab.events.lab('collab.simulate-conflict', { key, a: a.node, b: bb.node, step: 'partition' });
    await lab.partition([groupA, groupB]);
    const writes = [];
    try {
      for (const s of [a, bb]) {
        const value: ParagraphValue = { html: s.html, editor: s.editor, node: s.node, editedAtMs: Date.now(), history };
        // w=1: each side of the cut accepts the edit on its own (what an AP store does).
        writes.push({ editor: s.editor, node: s.node, ...(await writeParagraph(nodeUrl(lab, s.node), key, value, before.context, '1')) });
      }
    } finally {
      await lab.heal();
    }
    lab.events.lab('collab.simulate-conflict', { key, step: 'healed', writes: writes.map((w) => ({ node: w.node, status: w.status })) });
    // Both versions now meet: read repair and anti-entropy spread them. Wait until every
    // running replica holds both, so the conflict shows the same through any node.
    const end = Date.now() + CONFLICT_SETTLE_MS;
    let settled = false;
    while (Date.now() < end && !settled) {
      await readKey(nodeUrl(lab, a.node), key, { r: 'all' });
      const locals = await Promise.all(runningNodes(lab).map((id) => readKey(nodeUrl(lab, id), key, { local: true })));
      settled = locals.every((l) => l.versions.length >= 2);
      if (!settled) await new Promise((r) => setTimeout(r, 300));
    }
    const after = await readKey(nodeUrl(lab, a.node), key);
    return { key, writes, settled, versions: after.versions.length, read: after };
  });
}
