import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerMessage } from '../../src/node/peer-messages.ts';
import { encodeHotFrame } from '../../src/node/peer-wire.ts';
import { encodeFrame } from '../../src/transport/frame-codec.ts';
import { PEER_PROTOCOL } from '../../src/transport/handshake.ts';
import { startTestCluster, waitFor, type TestCluster } from '../helpers/in-process-cluster.ts';
import { fuzzSeed, makeRng, Tally, type Rng } from './fuzz-random.ts';

/**
 * Issue 14: ≥10,000 random and mutated peer frames against a live node's peer port — garbage
 * before the hello, and after a valid hello. The node must stay healthy and its real peers
 * must not notice. Replay with FUZZ_SEED=<seed printed>.
 */

const FRAMES = 10_000;
let c: TestCluster;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  c = await startTestCluster(3, { antiEntropyIntervalMs: 0 });
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${c.url(i % 3)}/kv/peer-acked/${i}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
    expect(res.status).toBe(200);
  }
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await c?.close();
});

const TYPES = ['gossip', 'get', 'get-r', 'put', 'put-r', 'batch', 'batch-r', 'ae', 'ae-r', 'fetch', 'fetch-r', 'fwd', 'fwd-r', 'list', 'list-r', 'hello', 'x', ''];

function junk(rng: Rng, depth = 0): unknown {
  const r = rng.int(depth > 3 ? 6 : 9);
  switch (r) {
    case 0:
      return rng.int(2 ** 31) - 2 ** 30;
    case 1:
      return rng.pick([NaN, Infinity, -0, 1e308, 2 ** 53 + 2, 0.5]);
    case 2:
      return rng.pick(['', 'k', '__proto__', 'constructor', 'x'.repeat(3000), 'n2', 'n1', '\u0000']);
    case 3:
      return rng.bytes(rng.int(64));
    case 4:
      return rng.pick([null, undefined, true, false]);
    case 5:
      return rng.pick([{}, [], { __proto__: { polluted: 1 } }]);
    case 6:
      return Array.from({ length: rng.int(6) }, () => junk(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(6); i > 0; i--) {
        const name = rng.pick(['t', 'id', 'key', 'rec', 'siblings', 'ctx', 'doc', 'entries', 'keys', 'view', 'members', 'ring', 'req', 'msg', 'partition', 'prefix', 'limit', '__proto__', 'constructor', 'value', 'dot', 'vv']);
        Object.defineProperty(o, name, { value: junk(rng, depth + 1), enumerable: true, configurable: true, writable: true });
      }
      return o;
    }
  }
}

/** A message that passes the shape check (valid `t` and `id`) with garbage inside. */
function plausible(rng: Rng): Record<string, unknown> {
  const t = rng.pick(TYPES.slice(0, 15));
  const m: Record<string, unknown> = { t, id: rng.int(1_000_000) };
  const key = rng.pick(['peer-fuzz', 'peer-acked/1', '__proto__', '', 'x'.repeat(600)]);
  switch (t) {
    case 'get':
      Object.assign(m, { key, ...(rng.chance(0.3) ? { hint: rng.pick(['n2', 'zz', 'bad id!']) } : {}) });
      break;
    case 'put':
      Object.assign(m, { key, rec: junk(rng), ack: rng.chance(0.5) });
      break;
    case 'batch':
    case 'fetch-r':
      m['entries'] = Array.from({ length: rng.int(4) }, () => (rng.chance(0.7) ? [key, junk(rng)] : junk(rng)));
      break;
    case 'fetch':
      m['keys'] = Array.from({ length: rng.int(5) }, () => junk(rng));
      break;
    case 'ae':
      Object.assign(m, { partition: rng.pick([0, 1, 63, 64, -1, 2 ** 40]), msg: junk(rng) });
      break;
    case 'fwd':
      // A well-formed forward is a trusted peer's client write (docs/THREAT_MODEL.md): keep it off acknowledged keys.
      m['req'] = { kind: rng.pick(['put', 'del', 'patch', 'x']), key: key.replace('peer-acked', 'peer-fuzz'), value: rng.chance(0.5) ? rng.bytes(10) : junk(rng), contentType: rng.pick(['application/json', 3]), context: rng.pick([null, 'AAAA', 'MXxuMTox']), idempotencyKey: null, w: rng.pick([1, 0, 99, 1.5]), timeoutMs: rng.pick([1, 100, -1, 1e9]), hops: rng.pick([0, 1, 5]) };
      break;
    case 'list':
      Object.assign(m, { prefix: rng.pick(['', 'peer', '\uffff']), limit: rng.pick([1, 0, -1, 1e9, NaN]) });
      break;
    case 'gossip':
      // Garbage views only: a well-formed view is a trusted peer's word, not hostile input.
      m['view'] = junk(rng);
      break;
    default:
      Object.assign(m, { rec: junk(rng), err: junk(rng), msg: junk(rng), keys: junk(rng), truncated: junk(rng) });
  }
  if (rng.chance(0.1)) m[rng.pick(['id', 't', 'key'])] = junk(rng);
  return m;
}

/** Frames sent in a binary layout, so the run can show it sent some. */
let hotFrames = 0;

function frameOf(rng: Rng, value: unknown): Buffer {
  try {
    // A third go in the hot messages' binary layouts (peer-wire.ts) when they have one.
    const hot = rng.chance(0.33) ? encodeHotFrame(value as PeerMessage) : null;
    if (hot !== null) hotFrames++;
    return Buffer.from(hot ?? encodeFrame(value));
  } catch {
    return Buffer.from(encodeFrame({ t: 'x' }));
  }
}

/** One frame's bytes: mostly encoded values, sometimes raw garbage or a lying length. */
function fuzzFrame(rng: Rng): Buffer {
  const r = rng.next();
  if (r < 0.55) return frameOf(rng, plausible(rng));
  if (r < 0.7) return frameOf(rng, junk(rng));
  if (r < 0.8) {
    const f = frameOf(rng, plausible(rng));
    for (let i = 1 + rng.int(3); i > 0; i--) f[4 + rng.int(f.length - 4)] = rng.int(256);
    return f;
  }
  if (r < 0.9) return rng.bytes(1 + rng.int(100));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(rng.pick([0, 1, 2 ** 31, 0xffffffff, 17 * 1024 * 1024]));
  return Buffer.concat([len, rng.bytes(rng.int(20))]);
}

function helloFrame(rng: Rng, i: number): Buffer {
  return Buffer.from(encodeFrame({ protocol: PEER_PROTOCOL, from: `fuzz-${i % 50}`, ...(rng.chance(0.1) ? { proof: rng.bytes(32) } : {}) }));
}

/** Opens a connection, writes the frames, waits for the node to close it or a short while. */
function session(port: number, bytes: Buffer[]): Promise<'closed-by-node' | 'open'> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    let settled = false;
    const finish = (how: 'closed-by-node' | 'open'): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve(how);
    };
    s.on('close', () => finish('closed-by-node'));
    s.on('connect', () => {
      for (const b of bytes) s.write(b);
      setTimeout(() => finish('open'), 30);
    });
  });
}

describe('hostile peer frames against a live node', () => {
  it(`${FRAMES} random and mutated frames before and after a valid hello: node healthy, peers unaffected`, { timeout: 120_000 }, async () => {
    const seed = fuzzSeed();
    const rng = makeRng(seed);
    const target = c.nodes[0]!;
    const tally = new Tally();
    let frames = 0;
    let sessions = 0;
    const startedMs = performance.now();
    const worker = async (): Promise<void> => {
      while (frames < FRAMES) await oneSession();
    };
    const oneSession = async (): Promise<void> => {
      const i = sessions++;
      const n = 1 + rng.int(8);
      const batch: Buffer[] = [];
      const beforeHello = rng.chance(0.25);
      if (!beforeHello) batch.push(helloFrame(rng, i));
      for (let k = 0; k < n; k++) batch.push(fuzzFrame(rng));
      frames += n;
      tally.add(`${beforeHello ? 'no-hello' : 'hello'}:${await session(target.peer.port, batch)}`);
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const seconds = (performance.now() - startedMs) / 1000;
    console.log(`peer fuzz seed=${seed}: ${frames} frames (${hotFrames} binary) in ${sessions} connections in ${seconds.toFixed(1)} s; ${tally}`);
    expect(frames).toBeGreaterThanOrEqual(FRAMES);
    expect(hotFrames).toBeGreaterThan(100);

    // The node and its real peers: healthy, all up for each other, data intact, writes replicate.
    for (let i = 0; i < 3; i++) expect((await fetch(`${c.url(i)}/health`)).status).toBe(200);
    await waitFor('every node sees the others up', async () => {
      for (let i = 0; i < 3; i++) {
        const s = (await (await fetch(`${c.url(i)}/admin/status`)).json()) as { members: { id: string; state: string }[] };
        const up = s.members.filter((m) => m.state === 'up' && /^n[123]$/.test(m.id)).length;
        if (up < 2) return false;
      }
      return true;
    });
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${c.url((i + 1) % 3)}/kv/peer-acked/${i}`);
      if (res.status !== 200) console.log(await res.text());
      expect(res.status, `peer-acked/${i}`).toBe(200);
      expect(await res.json()).toEqual({ i });
    }
    const w = await fetch(`${c.url(1)}/kv/after-peer-fuzz?w=all`, { method: 'PUT', body: 'ok' });
    expect(w.status).toBe(200);
    expect((await fetch(`${c.url(0)}/kv/after-peer-fuzz?local=true`)).status).toBe(200);
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(unhandled.map(String)).toEqual([]);
  });
});
