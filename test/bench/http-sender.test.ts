import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConnection, ResponseParser, endpointOf } from '../../src/bench/http-sender.ts';
import type { Reply } from '../../src/bench/http-sender.ts';
import type { RequestSpec } from '../../src/bench/target.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const GET = (path: string): RequestSpec => ({ method: 'GET', path, headers: {}, body: null });

/** A node:http server on a free port; `connections` counts the TCP connections it accepted. */
async function httpServer(
  handler: RequestListener,
): Promise<{ server: Server; port: number; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

/**
 * A raw TCP server: `onRequest(socket, n, head)` is called for each request head that arrives on
 * connection `n` (0, 1, …), to answer with hand-made bytes. The tests send no bodies to it.
 */
async function rawServer(
  onRequest: (socket: Socket, connection: number, head: string) => void,
): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createNetServer((socket) => {
    const n = sockets.push(socket) - 1;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      let end: number;
      while ((end = text.indexOf('\r\n\r\n')) >= 0) {
        const head = text.slice(0, end);
        text = text.slice(end + 4);
        onRequest(socket, n, head);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  );
  return { port: (server.address() as AddressInfo).port, sockets };
}

function connectionTo(port: number): HttpConnection {
  const c = new HttpConnection(endpointOf(`http://127.0.0.1:${port}`));
  cleanups.push(() => c.close());
  return c;
}

function closed(socket: Socket): Promise<void> {
  return socket.closed
    ? Promise.resolve()
    : new Promise((resolve) => socket.once('close', resolve));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code;
  }
  throw new Error('expected the request to fail');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('bench HTTP connection against node:http', () => {
  it('sends a GET and reads status, headers (lowercased) and body', async () => {
    const seen: {
      method?: string | undefined;
      url?: string;
      headers?: IncomingMessage['headers'];
    } = {};
    const { port } = await httpServer((req, res) => {
      Object.assign(seen, { method: req.method, url: req.url, headers: req.headers });
      res.statusCode = 404;
      res.setHeader('X-Context', 'ctx-1');
      res.setHeader('Content-Type', 'text/plain');
      res.end('no such key');
    });
    const reply = await connectionTo(port).send(
      { method: 'GET', path: '/kv/a%20b?r=2', headers: { 'x-trace': 't1' }, body: null },
      5000,
    );
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/kv/a%20b?r=2');
    expect(seen.headers?.host).toBe(`127.0.0.1:${port}`);
    expect(seen.headers?.['x-trace']).toBe('t1');
    expect(seen.headers?.['content-length']).toBeUndefined();
    expect(reply.status).toBe(404);
    expect(reply.headers['x-context']).toBe('ctx-1');
    expect(reply.headers['content-type']).toBe('text/plain');
    expect(reply.headers['content-length']).toBe('11');
    expect(reply.body.toString()).toBe('no such key');
  });

  it('sends a PUT body with its Content-Length and headers', async () => {
    const value = Buffer.alloc(3000, 'v');
    let received: {
      method?: string | undefined;
      headers?: IncomingMessage['headers'];
      body?: Buffer;
    } = {};
    const { port } = await httpServer((req, res) => {
      void readBody(req).then((body) => {
        received = { method: req.method, headers: req.headers, body };
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"context":"c2"}');
      });
    });
    const reply = await connectionTo(port).send(
      {
        method: 'PUT',
        path: '/kv/k1',
        headers: { 'content-type': 'application/octet-stream', 'x-context': 'c1' },
        body: value,
      },
      5000,
    );
    expect(received.method).toBe('PUT');
    expect(received.headers?.['content-length']).toBe('3000');
    expect(received.headers?.['content-type']).toBe('application/octet-stream');
    expect(received.headers?.['x-context']).toBe('c1');
    expect(received.body?.equals(value)).toBe(true);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('{"context":"c2"}');
  });

  it('runs many requests one after another on one connection', async () => {
    const { port, connections } = await httpServer((req, res) => {
      void readBody(req).then((body) => res.end(`${req.method} ${req.url} ${body.length}`));
    });
    const c = connectionTo(port);
    for (let i = 0; i < 200; i++) {
      const spec: RequestSpec =
        i % 2
          ? GET(`/kv/${i}`)
          : { method: 'PUT', path: `/kv/${i}`, headers: {}, body: Buffer.alloc(i) };
      const reply = await c.send(spec, 5000);
      expect(reply.body.toString()).toBe(`${spec.method} /kv/${i} ${i % 2 ? 0 : i}`);
    }
    expect(connections()).toBe(1);
  });

  it('reads a chunked response', async () => {
    const { port } = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"kvs":[');
      setTimeout(() => {
        res.write('"a",');
        res.end('"b"]}');
      }, 20);
    });
    const reply = await connectionTo(port).send(GET('/v3/kv/range'), 5000);
    expect(reply.headers['transfer-encoding']).toBe('chunked');
    expect(reply.body.toString()).toBe('{"kvs":["a","b"]}');
  });

  it('reconnects after a response with Connection: close', async () => {
    let n = 0;
    const { port, connections } = await httpServer((_req, res) => {
      n++;
      if (n === 1) res.setHeader('connection', 'close');
      res.end(`reply ${n}`);
    });
    const c = connectionTo(port);
    expect((await c.send(GET('/a'), 5000)).headers.connection).toBe('close');
    expect((await c.send(GET('/b'), 5000)).body.toString()).toBe('reply 2');
    expect((await c.send(GET('/c'), 5000)).body.toString()).toBe('reply 3');
    expect(connections()).toBe(2);
  });

  it('reconnects after the server closes an idle connection', async () => {
    const { server, port, connections } = await httpServer((_req, res) => res.end('ok'));
    // Node 20 closes idle connections a second after keepAliveTimeout.
    server.keepAliveTimeout = 1;
    const first = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const c = connectionTo(port);
    await c.send(GET('/a'), 5000);
    await closed(await first);
    await sleep(50); // for the client to see the FIN too
    expect((await c.send(GET('/b'), 5000)).body.toString()).toBe('ok');
    expect(connections()).toBe(2);
  });
});

describe('bench HTTP connection against hand-made bytes', () => {
  it('reads a response that arrives one byte at a time', async () => {
    const response =
      'HTTP/1.1 200 OK\r\nX-Context: abc\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';
    const { port } = await rawServer((socket) => {
      void (async () => {
        for (const byte of Buffer.from(response)) {
          socket.write(Buffer.from([byte]));
          await sleep(1);
        }
      })();
    });
    const reply = await connectionTo(port).send(GET('/'), 10_000);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-context']).toBe('abc');
    expect(reply.body.toString()).toBe('hello, world');
  });

  it('keeps bytes after a response for the next one (two responses in one chunk)', async () => {
    const { port, sockets } = await rawServer((socket, _n, head) => {
      if (head.startsWith('GET /first'))
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none' +
            'HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\ntwo',
        );
    });
    const c = connectionTo(port);
    expect((await c.send(GET('/first'), 5000)).body.toString()).toBe('one');
    const second = await c.send(GET('/second'), 5000);
    expect([second.status, second.body.toString()]).toEqual([201, 'two']);
    expect(sockets).toHaveLength(1);
  });

  it('closes on Connection: close even when the server keeps the socket open', async () => {
    // This server answers one request per connection and never closes: a client that kept the
    // connection would wait for the second answer until it timed out.
    const { port, sockets } = await rawServer((socket, n) => {
      socket.write(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n${n}`);
    });
    const c = connectionTo(port);
    expect((await c.send(GET('/'), 2000)).body.toString()).toBe('0');
    expect((await c.send(GET('/'), 2000)).body.toString()).toBe('1');
    await closed(sockets[0]!);
  });

  it('reads a body that ends with the connection (no length, no chunking)', async () => {
    const { port } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setTimeout(() => socket.end('the end'), 20);
    });
    const reply = await connectionTo(port).send(GET('/'), 5000);
    expect(reply.body.toString()).toBe('until the end');
  });

  it('skips a 100 Continue and reads an empty 204', async () => {
    const { port } = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: 1\r\nX-A: 2\r\n\r\n',
      );
    });
    const reply = await connectionTo(port).send(GET('/'), 5000);
    expect(reply.status).toBe(204);
    expect(reply.headers['x-a']).toBe('1, 2');
    expect(reply.body.length).toBe(0);
  });

  it('times out with CLIENT_TIMEOUT, closes the socket, and reconnects for the next request', async () => {
    const { port, sockets } = await rawServer((socket, n) => {
      if (n > 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const c = connectionTo(port);
    const started = Date.now();
    expect(await codeOf(c.send(GET('/'), 150))).toBe('CLIENT_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await closed(sockets[0]!);
    expect((await c.send(GET('/'), 2000)).body.toString()).toBe('ok');
  });

  it('rejects with ECONNREFUSED when nothing listens', async () => {
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    expect(await codeOf(connectionTo(port).send(GET('/'), 2000))).toBe('ECONNREFUSED');
  });

  it('rejects with ECONNRESET when the server closes mid-body', async () => {
    const { port } = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..');
    });
    expect(await codeOf(connectionTo(port).send(GET('/'), 2000))).toBe('ECONNRESET');
  });

  it('rejects with ECONNRESET when the server closes mid-chunk or before answering', async () => {
    const { port } = await rawServer((socket, n) => {
      if (n === 0) socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
      else socket.destroy();
    });
    const c = connectionTo(port);
    expect(await codeOf(c.send(GET('/'), 2000))).toBe('ECONNRESET');
    expect(await codeOf(c.send(GET('/'), 2000))).toBe('ECONNRESET');
  });

  it.each([
    ['a garbage status line', 'garbage\r\n\r\n'],
    ['a status line of another protocol', 'ICY 200 OK\r\nContent-Length: 0\r\n\r\n'],
    [
      'a bad chunk size',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
    ],
    [
      'a chunk without its CRLF',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n',
    ],
    ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nnot a header\r\n\r\n'],
    ['a header section over 64 KiB', `HTTP/1.1 200 OK\r\n${'X-Pad: 0123456789\r\n'.repeat(4000)}`],
  ])('rejects %s with BAD_RESPONSE and closes the socket', async (_what, bytes) => {
    const { port, sockets } = await rawServer((socket, n) => {
      socket.write(n === 0 ? bytes : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const c = connectionTo(port);
    expect(await codeOf(c.send(GET('/'), 2000))).toBe('BAD_RESPONSE');
    await closed(sockets[0]!);
    expect((await c.send(GET('/'), 2000)).body.toString()).toBe('ok');
  });
});

describe('bench HTTP response parser', () => {
  const stream =
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Context: c1\r\n\r\nhello' +
    'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\nConnection: close\r\n\r\n' +
    '3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n' +
    'HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n';

  const expected = (replies: { reply: Reply; keepAlive: boolean }[]): void => {
    expect(
      replies.map((r) => [r.reply.status, r.reply.body.toString(), r.keepAlive, r.reply.headers]),
    ).toEqual([
      [200, 'hello', true, { 'content-length': '5', 'x-context': 'c1' }],
      [
        200,
        'abc0123456789abcdef',
        false,
        { 'transfer-encoding': 'gzip, chunked', connection: 'close' },
      ],
      [503, '', false, { 'content-length': '0' }],
    ]);
  };

  const drain = (parser: ResponseParser, into: { reply: Reply; keepAlive: boolean }[]): void => {
    for (let r = parser.next(); r; r = parser.next()) into.push(r);
  };

  it('parses three responses pushed at once', () => {
    const parser = new ResponseParser();
    const replies: { reply: Reply; keepAlive: boolean }[] = [];
    parser.push(Buffer.from(stream));
    drain(parser, replies);
    expected(replies);
  });

  it('parses the same bytes split at every position, and pushed one byte at a time', () => {
    const bytes = Buffer.from(stream);
    for (let at = 0; at <= bytes.length; at++) {
      const parser = new ResponseParser();
      const replies: { reply: Reply; keepAlive: boolean }[] = [];
      for (const part of [bytes.subarray(0, at), bytes.subarray(at)]) {
        parser.push(part);
        drain(parser, replies);
      }
      expected(replies);
    }
    const parser = new ResponseParser();
    const replies: { reply: Reply; keepAlive: boolean }[] = [];
    for (let i = 0; i < bytes.length; i++) {
      parser.push(bytes.subarray(i, i + 1));
      drain(parser, replies);
    }
    expected(replies);
  });
});
