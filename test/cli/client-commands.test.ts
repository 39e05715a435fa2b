import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runClient } from '../../src/cli/client-commands.ts';

/** `nosqldb get|put|del|status|ring`: what they send, and what they say when no node is there. */
afterEach(() => vi.restoreAllMocks());

describe('nosqldb client commands', () => {
  it('names the address and the reason when no node listens there', async () => {
    // Port 29598: below the ephemeral range and used by nothing in the suite.
    await expect(runClient('get', ['k', '--url', 'http://127.0.0.1:29598'])).rejects.toThrow(
      'cannot reach http://127.0.0.1:29598 (ECONNREFUSED)',
    );
    await expect(runClient('status', ['--url', 'http://127.0.0.1:29598'])).rejects.toThrow(
      /cannot reach .*ECONNREFUSED/,
    );
  });

  it('sends a put with its body, content type, context and token, and prints the answer', async () => {
    const seen: {
      method: string | undefined;
      url: string | undefined;
      headers: IncomingMessage['headers'];
      body: string;
    }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"context":"abc"}');
      });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await runClient('put', [
        'a/b c',
        '{"x":1}',
        '--url',
        url,
        '--context',
        'ctx1',
        '--token',
        't0k',
        '--w',
        '2',
      ]);
    } finally {
      await new Promise((res) => server.close(res));
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/kv/a/b%20c?w=2', body: '{"x":1}' });
    expect(seen[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-context': 'ctx1',
      authorization: 'Bearer t0k',
    });
    expect(printed).toHaveBeenCalledWith('{"context":"abc"}');
  });
});
