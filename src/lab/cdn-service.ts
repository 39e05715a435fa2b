import { keyHash, hashHex, partitionOfHash } from '../core/hash.ts';
import { seededRandom } from '../core/seeded-random.ts';
import { KvError } from '../core/errors.ts';
import { errorMessage, keyPath, NODE_TIMEOUT_MS, pool } from './collab-node-client.ts';
import { oneWayDelayMs, regionOf, CLIENT_PLACES } from './cdn-regions.ts';
import type { LabController } from './lab-controller.ts';
import type { LabRing } from './lab-types.ts';

/**
 * GlobalCDN's server side (issue 10): the catalogue of files stored under `cdn/<name>`, which
 * node really holds a copy of each (its own copy, `?local=true`), the synthetic-file generator,
 * and measured migrations (add / remove a node: copies moved against the 1/(n+1) minimum and
 * against modulo-N hashing, with every file read throughout to prove it stays readable).
 */

export const CDN_PREFIX = 'cdn/';
/** The node's value limit (docs/LIMITS.md, `valueBytesMax`): a file is one value. */
export const FILE_BYTES_MAX = 1024 * 1024;
/** Files the demo tracks; the generator makes 1,000 and uploads add a few. */
const FILES_MAX = 5000;
/** Parallel node requests of a scan or the generator: enough to be quick, gentle on 2 cores. */
const SCAN_CONCURRENCY = 24;
const GENERATE_CONCURRENCY = 12;
/** A migration waits at most this long for the ring to change and handoff to finish. */
const MIGRATION_DEADLINE_MS = 120_000;
/** Handoff must look idle on this many consecutive status polls before the final scan. */
const IDLE_POLLS_NEEDED = 3;
/** Files read at once by the readability check during a migration (it must not starve the handoff). */
const READ_BATCH = 4;

export interface CdnFile {
  readonly name: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly hash: string;
  readonly hashHi: number;
  readonly hashLo: number;
  readonly addedAtMs: number;
}

export interface MigrationStats {
  readonly files: number;
  readonly copiesBefore: number;
  readonly copiesAfter: number;
  readonly copiesMoved: number;
  readonly filesMoved: number;
  readonly bytesMoved: number;
  readonly partitionsMoved: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  /** The theoretical minimum of copies that must move: all copies ÷ (n+1) on a join, ÷ n on a leave. */
  readonly minimumCopies: number;
  readonly ratioToMinimum: number;
  /** Copies that would move if replicas were placed by `hash mod nodes` (and the next N−1). */
  readonly moduloCopies: number;
  /** Files whose primary (first replica) changed on the ring, and under `hash mod nodes`. */
  readonly primariesMoved: number;
  readonly moduloPrimaries: number;
}

export interface Migration {
  readonly id: number;
  readonly kind: 'add' | 'remove';
  readonly target: string;
  phase: 'scanning-before' | 'changing-ring' | 'handing-off' | 'scanning-after' | 'done' | 'failed';
  readonly startedAtMs: number;
  endedAtMs: number | null;
  ringVersionBefore: number | null;
  ringVersionAfter: number | null;
  reads: { ok: number; failed: number; lastError: string | null };
  stats: MigrationStats | null;
  error: string | null;
}

export interface GenerateProgress {
  running: boolean;
  total: number;
  done: number;
  failed: number;
  lastError: string | null;
}

const TYPES: readonly [string, string][] = [
  ['mp4', 'video/mp4'],
  ['jpg', 'image/jpeg'],
  ['png', 'image/png'],
  ['css', 'text/css'],
  ['js', 'application/javascript'],
  ['webm', 'video/webm'],
];
const STEMS = ['video_4k_movie', 'thumbnail', 'hero_banner', 'styles', 'bundle', 'trailer', 'avatar', 'logo', 'clip', 'poster'];

/** Keeps a file name usable as a key segment and in a URL. */
export function cleanName(raw: string): string {
  const s = raw.normalize('NFC').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '').slice(0, 200);
  if (!s) throw new KvError('KV_BAD_REQUEST', 'file name must contain letters or digits', { field: 'name' });
  return s;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class CdnService {
  readonly #lab: LabController;
  readonly #files = new Map<string, CdnFile>();
  /** Per file: the nodes whose own copy held it at the last scan. */
  #holders = new Map<string, Set<string>>();
  #lastScanAtMs: number | null = null;
  #scanning: Promise<void> | null = null;
  #generate: GenerateProgress = { running: false, total: 0, done: 0, failed: 0, lastError: null };
  #migrations: Migration[] = [];
  #nextMigration = 1;
  #rr = 0;
  #closed = false;

  constructor(lab: LabController) {
    this.#lab = lab;
  }

  close(): void {
    this.#closed = true;
  }

  files(): CdnFile[] {
    return [...this.#files.values()];
  }

  holders(name: string): string[] {
    return [...(this.#holders.get(name) ?? [])].sort();
  }

  lastScanAtMs(): number | null {
    return this.#lastScanAtMs;
  }

  generateProgress(): GenerateProgress {
    return { ...this.#generate };
  }

  migrations(): Migration[] {
    return this.#migrations.map((m) => ({ ...m, reads: { ...m.reads } }));
  }

  #running(): { id: string; url: string; zone: string }[] {
    return this.#lab.cluster.nodes().filter((n) => n.state === 'running');
  }

  /** The next running node, round robin (the coordinator of a demo request). */
  #pick(exclude: readonly string[] = []): { id: string; url: string } {
    const nodes = this.#running().filter((n) => !exclude.includes(n.id));
    const n = nodes[this.#rr++ % Math.max(1, nodes.length)];
    if (!n) throw new KvError('KV_QUORUM_NOT_MET', 'no running node to serve the request');
    return n;
  }

  describe(name: string, size: number, contentType: string): CdnFile {
    const key = CDN_PREFIX + name;
    const h = keyHash(key);
    return { name, key, size, contentType, hash: hashHex(h), hashHi: h.hi, hashLo: h.lo, addedAtMs: Date.now() };
  }

  /** Stores one file through a running node (default quorum) and records it. */
  async put(name: string, bytes: Uint8Array, contentType: string, via?: string): Promise<CdnFile> {
    if (bytes.byteLength > FILE_BYTES_MAX) throw new KvError('KV_PAYLOAD_TOO_LARGE', `a file is one value: at most ${FILE_BYTES_MAX} bytes`, { limit: FILE_BYTES_MAX });
    if (this.#files.size >= FILES_MAX && !this.#files.has(name)) throw new KvError('KV_BAD_REQUEST', `the demo keeps at most ${FILES_MAX} files`);
    const node = via ? (this.#running().find((n) => n.id === via) ?? this.#pick()) : this.#pick();
    const type = contentType.split(';')[0]?.trim() === 'application/json' ? 'application/octet-stream' : contentType || 'application/octet-stream';
    const res = await fetch(`${node.url}/kv/${keyPath(CDN_PREFIX + name)}`, {
      method: 'PUT',
      headers: { 'content-type': type },
      body: new Uint8Array(bytes),
      signal: AbortSignal.timeout(NODE_TIMEOUT_MS * 2),
    });
    const text = await res.text();
    if (!res.ok) throw new KvError(res.status === 413 ? 'KV_PAYLOAD_TOO_LARGE' : res.status === 503 ? 'KV_QUORUM_NOT_MET' : 'KV_BAD_REQUEST', errorMessage(text, res.status));
    const f = this.describe(name, bytes.byteLength, type);
    this.#files.set(name, f);
    return f;
  }

  async remove(name: string): Promise<void> {
    const node = this.#pick();
    const res = await fetch(`${node.url}/kv/${keyPath(CDN_PREFIX + name)}`, { method: 'DELETE', signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
    await res.arrayBuffer();
    this.#files.delete(name);
    this.#holders.delete(name);
  }

  /** Reads a file back through a node (quorum read): its bytes and content type. */
  async read(name: string, via?: string): Promise<{ bytes: Uint8Array; contentType: string; node: string }> {
    const node = via ? (this.#running().find((n) => n.id === via) ?? this.#pick()) : this.#pick();
    const res = await fetch(`${node.url}/kv/${keyPath(CDN_PREFIX + name)}`, { signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
    if (res.status !== 200) {
      const text = await res.text();
      throw new KvError(res.status === 404 ? 'KV_NOT_FOUND' : res.status === 503 ? 'KV_QUORUM_NOT_MET' : 'KV_BAD_REQUEST', res.status === 300 ? 'the file has concurrent versions' : errorMessage(text, res.status));
    }
    return { bytes: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/octet-stream', node: node.id };
  }

  /** Does this node's own copy hold the file? (HEAD of `?local=true`: no quorum, no repair.) */
  async #holds(url: string, key: string): Promise<boolean | null> {
    try {
      const res = await fetch(`${url}/kv/${keyPath(key)}?local=true`, { method: 'HEAD', signal: AbortSignal.timeout(NODE_TIMEOUT_MS) });
      await res.arrayBuffer();
      return res.status === 200 || res.status === 300 ? true : res.status === 404 ? false : null;
    } catch {
      return null;
    }
  }

  /** Asks every running node whether it holds each file (all files unless `names`). */
  async scan(names?: readonly string[]): Promise<void> {
    if (!names && this.#scanning) return this.#scanning;
    const run = async (): Promise<void> => {
      const files = (names ?? [...this.#files.keys()]).map((n) => this.#files.get(n)).filter((f): f is CdnFile => f !== undefined);
      const nodes = this.#running();
      const jobs = files.flatMap((f) => nodes.map((n) => ({ f, n })));
      const found = new Map<string, Set<string>>();
      for (const f of files) found.set(f.name, new Set());
      await pool(jobs, SCAN_CONCURRENCY, async ({ f, n }) => {
        const held = await this.#holds(n.url, f.key);
        // An unreachable node keeps what it was last seen holding.
        if (held === true || (held === null && this.#holders.get(f.name)?.has(n.id))) found.get(f.name)?.add(n.id);
      });
      const next = names ? new Map(this.#holders) : new Map<string, Set<string>>();
      for (const [k, v] of found) next.set(k, v);
      this.#holders = next;
      if (!names) this.#lastScanAtMs = Date.now();
    };
    if (names) return run();
    this.#scanning = run().finally(() => (this.#scanning = null));
    return this.#scanning;
  }

  /** Learns files already in the database (e.g. after the Lab restarted on old data). */
  async discover(): Promise<number> {
    const node = this.#pick();
    const res = await fetch(`${node.url}/kv?prefix=${encodeURIComponent(CDN_PREFIX)}&limit=${FILES_MAX}`, { signal: AbortSignal.timeout(NODE_TIMEOUT_MS * 2) });
    if (!res.ok) return 0;
    const { keys } = (await res.json()) as { keys: string[] };
    const unknown = keys.map((k) => k.slice(CDN_PREFIX.length)).filter((n) => !this.#files.has(n));
    await pool(unknown, 8, async (name) => {
      try {
        const { bytes, contentType } = await this.read(name);
        this.#files.set(name, this.describe(name, bytes.byteLength, contentType));
      } catch {
        // unreadable right now: found again next time
      }
    });
    return unknown.length;
  }

  /** Makes `count` synthetic files (0.5–8 KiB, typical CDN types) in the background. */
  generate(count: number, seed = 1): GenerateProgress {
    if (this.#generate.running) throw new KvError('KV_BAD_REQUEST', 'the generator is already running');
    const rand = seededRandom(seed);
    const start = [...this.#files.keys()].filter((n) => n.startsWith('gen-')).length;
    const specs = Array.from({ length: count }, (_, i) => {
      const [ext, type] = TYPES[Math.floor(rand() * TYPES.length)] ?? ['bin', 'application/octet-stream'];
      const stem = STEMS[Math.floor(rand() * STEMS.length)] ?? 'file';
      const n = start + i + 1;
      return { name: `gen-${String(n).padStart(4, '0')}_${stem}.${ext}`, type, size: 512 + Math.floor(rand() * 7680), fill: n };
    });
    this.#generate = { running: true, total: count, done: 0, failed: 0, lastError: null };
    const progress = this.#generate;
    void (async () => {
      await pool(specs, GENERATE_CONCURRENCY, async (s) => {
        if (this.#closed) return;
        const bytes = new Uint8Array(s.size);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (s.fill * 31 + i * 7) & 0xff;
        try {
          await this.put(s.name, bytes, s.type);
          progress.done++;
        } catch (e) {
          progress.failed++;
          progress.lastError = (e as Error).message;
        }
      });
      progress.running = false;
      this.#lab.events.lab('cdn.generated', { files: progress.done, failed: progress.failed });
      await this.scan();
    })();
    return { ...progress };
  }

  /** Bytes and files each node holds, from the last scan. */
  loads(): { node: string; zone: string; files: number; bytes: number }[] {
    const nodes = this.#lab.cluster.nodes();
    const out = new Map(nodes.map((n) => [n.id, { node: n.id, zone: n.zone, files: 0, bytes: 0 }]));
    for (const [name, set] of this.#holders) {
      const f = this.#files.get(name);
      if (!f) continue;
      for (const id of set) {
        const o = out.get(id);
        if (o) {
          o.files++;
          o.bytes += f.size;
        }
      }
    }
    return [...out.values()];
  }

  /** Simulated client → replica request: the WAN delay of that hop, then a real read of its copy. */
  async route(name: string, clientId: string): Promise<{ replicas: { node: string; zone: string; simulatedMs: number; measuredMs: number | null }[]; nearest: string | null; random: string | null }> {
    const f = this.#files.get(name);
    if (!f) throw new KvError('KV_NOT_FOUND', `no file ${name}`);
    const client = CLIENT_PLACES.find((c) => c.id === clientId);
    if (!client) throw new KvError('KV_BAD_REQUEST', `unknown client location ${clientId}`, { field: 'client' });
    const ring = this.#lab.monitor.ring();
    const nodes = this.#running();
    const pref = ring ? preferenceOf(ring, f) : [];
    const replicas = pref.map((id) => nodes.find((n) => n.id === id)).filter((n): n is { id: string; url: string; zone: string } => n !== undefined);
    const measured = await Promise.all(
      replicas.map(async (n) => {
        const place = regionOf(n.zone);
        const simulatedMs = place ? 2 * oneWayDelayMs(client, place) : 0;
        const t0 = performance.now();
        await sleep(simulatedMs);
        const held = await this.#holds(n.url, f.key);
        return { node: n.id, zone: n.zone, simulatedMs, measuredMs: held === true ? Math.round(performance.now() - t0) : null };
      }),
    );
    const reachable = measured.filter((m) => m.measuredMs !== null);
    const nearest = reachable.reduce<(typeof reachable)[number] | null>((best, m) => (best === null || m.simulatedMs < best.simulatedMs ? m : best), null);
    const random = reachable[Math.floor(Math.random() * reachable.length)] ?? null;
    return { replicas: measured, nearest: nearest?.node ?? null, random: random?.node ?? null };
  }

  /** Add or remove a node and measure what moved; returns at once, progress in `migrations()`. */
  migrate(kind: 'add' | 'remove', target: string): Migration {
    if (this.#migrations.some((m) => m.phase !== 'done' && m.phase !== 'failed')) throw new KvError('KV_BAD_REQUEST', 'a migration is already running');
    const m: Migration = {
      id: this.#nextMigration++,
      kind,
      target,
      phase: 'scanning-before',
      startedAtMs: Date.now(),
      endedAtMs: null,
      ringVersionBefore: this.#lab.monitor.ring()?.version ?? null,
      ringVersionAfter: null,
      reads: { ok: 0, failed: 0, lastError: null },
      stats: null,
      error: null,
    };
    this.#migrations.push(m);
    if (this.#migrations.length > 20) this.#migrations.shift();
    void this.#runMigration(m).catch((e: unknown) => {
      m.phase = 'failed';
      m.error = (e as Error).message;
      m.endedAtMs = Date.now();
    });
    return m;
  }

  async #runMigration(m: Migration): Promise<void> {
    await this.scan();
    const before = this.#pairs();
    const ringBefore = this.#lab.monitor.ring();
    const nodesBefore = this.#running().map((n) => n.id).sort();
    m.phase = 'changing-ring';
    let stopReads = false;
    // Clients keep using the nodes they knew: a joining node serves only once it has the ring.
    const readers = nodesBefore.filter((id) => !(m.kind === 'remove' && id === m.target));
    const reader = this.#readAll(m, readers, () => stopReads);
    let removedId = m.target;
    try {
      if (m.kind === 'add') {
        const node = await this.#lab.add(m.target);
        removedId = node.id;
        (m as { target: string }).target = `${node.id} (${m.target})`;
      } else {
        await this.#lab.decommission(m.target);
      }
      const end = Date.now() + MIGRATION_DEADLINE_MS;
      // The ring must change…
      while (Date.now() < end) {
        await this.#lab.monitor.pollStatus();
        const v = this.#lab.monitor.ring()?.version ?? null;
        const gone = m.kind === 'remove' ? !this.#lab.cluster.nodes().some((n) => n.id === m.target) : true;
        if (v !== null && v !== m.ringVersionBefore && (m.kind === 'add' || gone)) {
          m.ringVersionAfter = v;
          break;
        }
        await sleep(500);
      }
      if (m.ringVersionAfter === null) throw new Error('the ring did not change in time');
      // …and every node's handoff go quiet.
      m.phase = 'handing-off';
      let idle = 0;
      while (Date.now() < end && idle < IDLE_POLLS_NEEDED) {
        await sleep(700);
        await this.#lab.monitor.pollStatus();
        const nodes = this.#lab.monitor.nodes().filter((n) => n.reachable);
        const busy = nodes.some((n) => (n.handoff as { active?: number | boolean } | null)?.active);
        const gone = m.kind === 'remove' ? !this.#lab.cluster.nodes().some((n) => n.id === m.target) : true;
        idle = busy || !gone ? 0 : idle + 1;
      }
      m.ringVersionAfter = this.#lab.monitor.ring()?.version ?? m.ringVersionAfter;
      m.phase = 'scanning-after';
      await this.scan();
      const after = this.#pairs();
      const ringAfter = this.#lab.monitor.ring();
      const nodesAfter = this.#running().map((n) => n.id).sort();
      m.stats = this.#stats(before, after, ringBefore, ringAfter, nodesBefore, nodesAfter, m.kind);
      m.phase = 'done';
    } finally {
      stopReads = true;
      await reader;
      m.endedAtMs = Date.now();
      this.#lab.events.lab('cdn.migration', { kind: m.kind, target: removedId, phase: m.phase, stats: m.stats, reads: m.reads });
    }
  }

  /** Reads every file, over and over, while a migration runs: does anything become unreadable? */
  async #readAll(m: Migration, via: readonly string[], stop: () => boolean): Promise<void> {
    const names = [...this.#files.keys()];
    let i = 0;
    let turn = 0;
    while (!stop() && names.length > 0) {
      const batch = names.slice(i, i + READ_BATCH);
      i = (i + READ_BATCH) % names.length;
      await Promise.all(
        batch.map(async (name) => {
          try {
            await this.read(name, via[turn++ % via.length]);
            m.reads.ok++;
          } catch (e) {
            m.reads.failed++;
            m.reads.lastError = `${name}: ${(e as Error).message}`;
          }
        }),
      );
    }
  }

  #pairs(): Set<string> {
    const s = new Set<string>();
    for (const [name, set] of this.#holders) for (const id of set) s.add(`${name}\u0000${id}`);
    return s;
  }

  #stats(before: Set<string>, after: Set<string>, ringBefore: LabRing | null, ringAfter: LabRing | null, nodesBefore: string[], nodesAfter: string[], kind: 'add' | 'remove'): MigrationStats {
    let copiesMoved = 0;
    let bytesMoved = 0;
    const filesMoved = new Set<string>();
    for (const p of after) {
      if (before.has(p)) continue;
      const [name] = p.split('\u0000');
      copiesMoved++;
      filesMoved.add(name ?? '');
      bytesMoved += this.#files.get(name ?? '')?.size ?? 0;
    }
    let partitionsMoved = 0;
    if (ringBefore && ringAfter) for (const p of ringAfter.partitions) if (ringBefore.partitions[p.index]?.owner !== p.owner) partitionsMoved++;
    const n = ringAfter?.n ?? 3;
    const files = [...this.#files.values()];
    const copies = files.length * Math.min(n, nodesBefore.length);
    const minimumCopies = kind === 'add' ? copies / nodesAfter.length : copies / nodesBefore.length;
    return {
      files: files.length,
      copiesBefore: before.size,
      copiesAfter: after.size,
      copiesMoved,
      filesMoved: filesMoved.size,
      bytesMoved,
      partitionsMoved,
      nodesBefore: nodesBefore.length,
      nodesAfter: nodesAfter.length,
      minimumCopies: Math.round(minimumCopies),
      ratioToMinimum: minimumCopies > 0 ? copiesMoved / minimumCopies : 0,
      moduloCopies: moduloMoves(files, nodesBefore, nodesAfter, n),
      primariesMoved: ringBefore && ringAfter ? files.filter((f) => preferenceOf(ringBefore, f)[0] !== preferenceOf(ringAfter, f)[0]).length : 0,
      moduloPrimaries: moduloMoves(files, nodesBefore, nodesAfter, 1),
    };
  }
}

/** The preference list of a file's partition on this ring. */
export function preferenceOf(ring: LabRing, f: { hashHi: number; hashLo: number }): readonly string[] {
  const p = partitionOfHash({ hi: f.hashHi, lo: f.hashLo }, ring.partitions.length);
  return ring.partitions[p]?.preferenceList ?? [];
}

/**
 * Copies that would move under modulo-N placement: replicas on nodes (h mod n), +1, … +N−1
 * of the sorted node list, before and after. The textbook reason for consistent hashing.
 */
export function moduloMoves(files: readonly { hashHi: number; hashLo: number }[], before: readonly string[], after: readonly string[], n: number): number {
  let moved = 0;
  const place = (h: bigint, nodes: readonly string[]): Set<string> => {
    const s = new Set<string>();
    const start = Number(h % BigInt(nodes.length));
    for (let i = 0; i < Math.min(n, nodes.length); i++) s.add(nodes[(start + i) % nodes.length] ?? '');
    return s;
  };
  for (const f of files) {
    const h = (BigInt(f.hashHi) << 32n) | BigInt(f.hashLo);
    const a = place(h, before);
    for (const id of place(h, after)) if (!a.has(id)) moved++;
  }
  return moved;
}
