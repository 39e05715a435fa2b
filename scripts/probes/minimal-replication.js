#!/usr/bin/env node
// The least a durable, replicated write can cost in Node.js on this machine: three processes,
// each an HTTP server (node:http) that takes `PUT /kv/<key>`, appends it to a preallocated log
// file (group commit: one write + fdatasync per event-loop turn), sends it to the two others over
// TCP in batched binary frames, and answers once one of them has it durable too (N=3, W=2), as
// nosql-db does. Nothing else: no version vectors, no merge with a stored value, no Merkle trees,
// no LMDB, no validation, no timeouts. issue #12 compares nosql-db with this floor
// (docs/BENCHMARKS.md): drive it with the same load generator, e.g.
//
//   node scripts/probes/minimal-replication.js 7401 &          # HTTP 7401-7403, peers 8401-8403
//   nosqldb bench --url http://127.0.0.1:7401,http://127.0.0.1:7402,http://127.0.0.1:7403 \
//     --workload write --prefill --blind --compare etcd
//
// It stops its three processes on SIGINT/SIGTERM and removes its temporary directory.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const logBytes = 256 * 2 ** 20;

if (process.argv[2] === '--node') {
  const [id, base, dir] = [Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  // Preallocated and rewritten in place: a sync never waits for a size or block-map update.
  const fd = openSync(join(dir, `log-${id}`), 'w+');
  writeSync(fd, Buffer.alloc(logBytes), 0, logBytes, 0);
  fdatasyncSync(fd);
  let offset = 0;
  let queued = [];
  let waiting = [];
  let flushing = false;
  /** Appends `record`; `done` runs once it is durable (the turn's one write + fdatasync). */
  const append = (record, done) => {
    queued.push(record);
    waiting.push(done);
    if (flushing) return;
    flushing = true;
    setImmediate(() => {
      flushing = false;
      const bytes = Buffer.concat(queued);
      const callbacks = waiting;
      queued = [];
      waiting = [];
      if (offset + bytes.length > logBytes) offset = 0;
      writeSync(fd, bytes, 0, bytes.length, offset);
      fdatasyncSync(fd);
      offset += bytes.length;
      for (const cb of callbacks) cb();
    });
  };
  /** Frames queued for a socket, written once per turn. */
  const batched = (socket) => {
    let out = [];
    return (frame) => {
      out.push(frame);
      if (out.length === 1) {
        setImmediate(() => {
          socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
          out = [];
        });
      }
    };
  };
  /** Splits a stream into [u32 length][payload] frames. */
  const frames = (onFrame) => {
    let buf = Buffer.alloc(0);
    return (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let at = 0;
      while (buf.length - at >= 4 && buf.length - at >= 4 + buf.readUInt32BE(at)) {
        const len = buf.readUInt32BE(at);
        onFrame(buf.subarray(at + 4, at + 4 + len));
        at += 4 + len;
      }
      buf = buf.subarray(at);
    };
  };

  // Replica side: a put frame is [u32 request id][record]; the ack is [u32 request id].
  net
    .createServer((socket) => {
      socket.setNoDelay(true);
      const send = batched(socket);
      socket.on(
        'data',
        frames((payload) => {
          const requestId = payload.readUInt32BE(0);
          append(payload.subarray(4), () => {
            const ack = Buffer.allocUnsafe(8);
            ack.writeUInt32BE(4, 0);
            ack.writeUInt32BE(requestId, 4);
            send(ack);
          });
        }),
      );
    })
    .listen(base + 1000 + id, '127.0.0.1', () => process.send?.('peer port open'));

  // Coordinator side, once every peer port is open (the parent says so).
  await new Promise((r) => process.once('message', r));
  const acked = new Map();
  let nextId = 1;
  const peers = [0, 1, 2]
    .filter((p) => p !== id)
    .map((p) => {
      const socket = net.connect(base + 1000 + p, '127.0.0.1');
      socket.setNoDelay(true);
      socket.on(
        'data',
        frames((payload) => acked.get(payload.readUInt32BE(0))?.()),
      );
      socket.on('error', () => undefined);
      return batched(socket);
    });
  createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const key = Buffer.from(req.url ?? '');
      const value = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const record = Buffer.allocUnsafe(4 + key.length + value.length);
      record.writeUInt16BE(key.length, 0);
      record.writeUInt16BE(value.length, 2);
      key.copy(record, 4);
      value.copy(record, 4 + key.length);
      append(record, () => {
        const requestId = nextId++;
        // W=2: this node's copy and the first peer's ack.
        acked.set(requestId, () => {
          if (!acked.delete(requestId)) return;
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
          res.end('{}');
        });
        const frame = Buffer.allocUnsafe(8 + record.length);
        frame.writeUInt32BE(4 + record.length, 0);
        frame.writeUInt32BE(requestId, 4);
        record.copy(frame, 8);
        for (const send of peers) send(frame);
      });
    });
  }).listen(base + id, '127.0.0.1', () => process.send?.('listening'));
  process.on('disconnect', () => {
    closeSync(fd);
    process.exit(0);
  });
} else {
  const base = Number(process.argv[2] ?? 7401);
  if (!Number.isInteger(base) || base < 1 || base + 1002 > 65535) {
    console.error(
      'usage: node scripts/probes/minimal-replication.js [PORT]   (1..64533, default 7401)',
    );
    console.error('  HTTP on PORT..PORT+2, peers on PORT+1000..PORT+1002');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'nosqldb-minimal-'));
  const children = [0, 1, 2].map((id) =>
    fork(new URL(import.meta.url).pathname, ['--node', String(id), String(base), dir]),
  );
  let stopping = false;
  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.connected) c.disconnect();
    setTimeout(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    }, 300);
  };
  // A process that dies (a port in use, a full disk) ends the probe: it is three or nothing.
  for (const c of children) {
    c.once('exit', (code) => {
      if (stopping) return;
      console.error(`a probe process exited (code ${code}); stopping`);
      stop(1);
    });
  }
  const heard = () => Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
  await heard(); // peer ports open
  const listening = heard();
  for (const c of children) c.send('connect');
  await listening;
  console.log(
    `listening: http://127.0.0.1:${base},http://127.0.0.1:${base + 1},http://127.0.0.1:${base + 2} (pids ${children.map((c) => c.pid).join(' ')})`,
  );
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
}
