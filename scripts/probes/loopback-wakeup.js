#!/usr/bin/env node
// What one TCP write on loopback costs, sender and receiver together, when the receiver is kept
// busy (the next write follows at once) and when it sleeps between writes (paced, ~1 per ms).
// docs/BENCHMARKS.md uses it to explain why paced requests cost about twice the CPU of the same
// requests flat out on this machine. Usage: node scripts/probes/loopback-wakeup.js [bytes] [seconds]
import net from 'node:net';
import { fork } from 'node:child_process';

if (process.argv[2] === '--receiver') {
  const server = net.createServer((s) => s.on('data', () => undefined));
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', () => {
    const u = process.cpuUsage();
    process.send({ cpuUs: u.user + u.system });
  });
  process.on('disconnect', () => process.exit(0));
} else {
  const bytes = Number(process.argv[2] ?? 2500);
  const seconds = Number(process.argv[3] ?? 3);
  const frame = Buffer.alloc(bytes, 1);
  for (const paced of [false, true]) {
    const child = fork(new URL(import.meta.url).pathname, ['--receiver']);
    const { port } = await new Promise((r) => child.once('message', r));
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((r) => socket.once('connect', r));
    const before = await new Promise((r) => (child.send('cpu'), child.once('message', r)));
    const started = process.cpuUsage();
    const end = performance.now() + seconds * 1000;
    let writes = 0;
    await new Promise((resolve) => {
      const next = () => {
        if (performance.now() > end) return resolve();
        socket.write(frame);
        writes++;
        if (paced) setTimeout(next, 1);
        else setImmediate(next);
      };
      next();
    });
    const sender = process.cpuUsage(started);
    const after = await new Promise((r) => (child.send('cpu'), child.once('message', r)));
    socket.destroy();
    child.disconnect();
    const perWrite = (us) => (us / writes).toFixed(1);
    console.log(
      `${paced ? 'paced, one a millisecond (both sides sleep between writes)' : 'back to back'}: ${writes} writes of ${bytes} B, ` +
        `sender ${perWrite(sender.user + sender.system)} µs/write, receiver ${perWrite(after.cpuUs - before.cpuUs)} µs/write`,
    );
  }
}
