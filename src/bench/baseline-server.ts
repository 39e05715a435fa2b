/**
 * The baseline: a bare Node.js HTTP server answering the benchmark's requests from a Map, with
 * no framework, validation, replication or disk. It bounds what any Node-based API can do on
 * this machine. Run as its own process: `node --import tsx src/bench/baseline-server.ts PORT`.
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';
const values = new Map<string, Buffer>();
const WRITE_REPLY = '{"context":"YmFzZWxpbmU","vectorClock":{}}';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const key = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'GET') {
      if (key === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      const value = values.get(key);
      if (!value) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"error":{"code":"KV_NOT_FOUND"}}');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/octet-stream', 'x-context': 'YmFzZWxpbmU' })
        .end(value);
      return;
    }
    values.set(key, Buffer.concat(chunks));
    res.writeHead(200, { 'content-type': 'application/json' }).end(WRITE_REPLY);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, host, () => console.log(`serving: baseline http://${host}:${port}`));
// Exit with the parent: stdin is a pipe the parent holds.
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
