/**
 * The benchmark's HTTP/1.1 client, lean in the way wrk's is: one socket per benchmark
 * connection, each request serialized to one Buffer and written at once, and a small parser that
 * reads responses straight from the socket's Buffers. node:http's client (an Agent, a
 * ClientRequest and an IncomingMessage stream per request) cost 0.06–0.15 ms of CPU per request,
 * CPU that on a 2-core machine the systems under test need.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { RequestSpec } from './target.ts';

/** A whole response: status, headers (names lowercased) and the body bytes. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Where requests go: one parsed base URL. */
export interface Endpoint {
  readonly hostname: string;
  readonly port: number;
}

export function endpointOf(url: string): Endpoint {
  const u = new URL(url);
  if (u.protocol !== 'http:') throw new Error(`only http:// URLs can be benchmarked (got ${url})`);
  return { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) };
}

/** An error labelled by `code`, as socket errors are (the load runner counts errors by code). */
function codeError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * One keep-alive connection running one request at a time. The socket is opened by the first
 * request and again by the one after a close or an error. Failures reject with an error whose
 * `code` is the socket's (ECONNREFUSED, …), ECONNRESET when the connection closes mid-response,
 * CLIENT_TIMEOUT or BAD_RESPONSE; the last two also close the connection.
 */
export class HttpConnection {
  readonly #endpoint: Endpoint;
  readonly #hostLine: string;
  #socket: Socket | null = null;
  #parser = new ResponseParser();
  #resolve: ((reply: Reply) => void) | null = null;
  #reject: ((error: Error) => void) | null = null;
  /** One timer per connection, re-armed by each request: cheaper than a timer per request. */
  #timer: NodeJS.Timeout | null = null;
  #timerMs = 0;

  constructor(endpoint: Endpoint) {
    this.#endpoint = endpoint;
    const host = endpoint.hostname.includes(':') ? `[${endpoint.hostname}]` : endpoint.hostname;
    this.#hostLine = `Host: ${host}:${endpoint.port}\r\n`;
  }

  send(spec: RequestSpec, timeoutMs: number): Promise<Reply> {
    if (this.#reject) return Promise.reject(new Error('a request is already in flight'));
    const socket = this.#socket ?? this.#connect();
    socket.write(serialize(spec, this.#hostLine));
    if (!this.#timer || this.#timerMs !== timeoutMs) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#onTimeout(), timeoutMs).unref();
      this.#timerMs = timeoutMs;
    } else {
      this.#timer.refresh();
    }
    return new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      // Bytes may have come before this request was sent (a server answering twice).
      this.#drain();
    });
  }

  /** Closes the socket; a request still in flight rejects. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#abort(codeError('CLIENT_CLOSED', 'connection closed by the client'));
  }

  #connect(): Socket {
    const socket = connect({ host: this.#endpoint.hostname, port: this.#endpoint.port });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#parser = new ResponseParser();
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      this.#parser.push(chunk);
      if (this.#reject) this.#drain();
    });
    socket.on('error', (e) => this.#lost(socket, e));
    // The server's FIN ('end') is enough: a request written after it would only fail.
    socket.on('end', () => this.#lost(socket, null));
    socket.on('close', () => this.#lost(socket, null));
    return socket;
  }

  /** Settles the request in flight if the bytes so far complete its response. */
  #drain(): void {
    let done: ParsedResponse | null;
    try {
      done = this.#parser.next();
    } catch (e) {
      this.#abort(e as Error);
      return;
    }
    if (!done) return;
    if (!done.keepAlive) this.#dropSocket();
    this.#succeed(done.reply);
  }

  /** The socket errored (`error`) or closed (null). Events of sockets already dropped are ignored. */
  #lost(socket: Socket, error: Error | null): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    socket.destroy();
    if (!this.#reject) return;
    // A response without Content-Length or chunked framing ends with the connection.
    const last = error ? null : this.#parser.end();
    if (last) this.#succeed(last);
    else
      this.#fail(error ?? codeError('ECONNRESET', 'connection closed before the response ended'));
  }

  #onTimeout(): void {
    // The timer also fires after a request that finished in time, when there is nothing to do.
    if (this.#reject) this.#abort(codeError('CLIENT_TIMEOUT', 'request timed out'));
  }

  /** Closes the connection and fails the request in flight, if any. */
  #abort(error: Error): void {
    this.#dropSocket();
    if (this.#reject) this.#fail(error);
  }

  #dropSocket(): void {
    const socket = this.#socket;
    this.#socket = null; // first, so its `close` event is ignored
    socket?.destroy();
  }

  #succeed(reply: Reply): void {
    const resolve = this.#resolve!;
    this.#resolve = this.#reject = null;
    resolve(reply);
  }

  #fail(error: Error): void {
    const reject = this.#reject!;
    this.#resolve = this.#reject = null;
    reject(error);
  }
}

/**
 * Request line, Host, the spec's headers, Content-Length when there is a body, then the body,
 * in one Buffer. Headers come from the targets, so they are not checked for CR/LF as node:http
 * would. Latin-1 takes one byte per character, so the head's length is its size in bytes.
 */
function serialize(spec: RequestSpec, hostLine: string): Buffer {
  let head = `${spec.method} ${spec.path} HTTP/1.1\r\n${hostLine}`;
  for (const name in spec.headers) head += `${name}: ${spec.headers[name]}\r\n`;
  const body = spec.body;
  if (body) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  if (!body || body.length === 0) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  return out;
}

/** Bigger header sections (or trailers) are refused, as node:http's parser does at 16 KiB. */
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_CHUNK_LINE_BYTES = 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: |$)/;
const CHUNK_SIZE = /^[0-9a-fA-F]{1,8}$/;

function badResponse(what: string): Error {
  return codeError('BAD_RESPONSE', `malformed HTTP response: ${what}`);
}

export interface ParsedResponse {
  readonly reply: Reply;
  /** False when the server closes after it (`Connection: close`, HTTP/1.0, body up to the close). */
  readonly keepAlive: boolean;
}

/** Where the parser is in a response. */
type State =
  'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close';

/**
 * An incremental HTTP/1.1 response parser. `push` the socket's bytes as they come, in pieces of
 * any size; `next` returns each response once its last byte is in, keeping what follows it.
 * Bodies are kept as views of the pushed Buffers, copied only when they span several.
 */
export class ResponseParser {
  /** Unread bytes are `#buf[#pos..]`. */
  #buf: Buffer = EMPTY;
  #pos = 0;
  /** Bytes after `#pos` already searched for the end of the head (so a trickle stays linear). */
  #headScanned = 0;
  #state: State = 'head';
  #status = 0;
  #headers: Record<string, string> = {};
  #keepAlive = true;
  #remaining = 0;
  #parts: Buffer[] = [];

  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) this.#buf = chunk;
    else this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    this.#pos = 0;
  }

  /** The next whole response, or null until more bytes come; throws BAD_RESPONSE errors. */
  next(): ParsedResponse | null {
    const buf = this.#buf;
    for (;;) {
      switch (this.#state) {
        case 'head': {
          const from = this.#pos + Math.max(0, this.#headScanned - 3);
          const end = buf.indexOf(HEAD_END, from);
          if (end < 0 || end - this.#pos > MAX_HEAD_BYTES) {
            if (buf.length - this.#pos > MAX_HEAD_BYTES)
              throw badResponse('header section too large');
            this.#headScanned = buf.length - this.#pos;
            return null;
          }
          this.#headScanned = 0;
          const head = buf.toString('latin1', this.#pos, end);
          this.#pos = end + 4;
          this.#readHead(head);
          break;
        }
        case 'body':
        case 'chunk-data': {
          const take = Math.min(this.#remaining, buf.length - this.#pos);
          if (take > 0) this.#parts.push(buf.subarray(this.#pos, this.#pos + take));
          this.#pos += take;
          this.#remaining -= take;
          if (this.#remaining > 0) return null;
          if (this.#state === 'body') return this.#complete();
          this.#state = 'chunk-end';
          break;
        }
        case 'chunk-size': {
          const eol = this.#lineEnd(MAX_CHUNK_LINE_BYTES, 'chunk size line');
          if (eol < 0) return null;
          // `size[;extensions]`: extensions are ignored, as every client does.
          const line = buf.toString('latin1', this.#pos, eol);
          const semicolon = line.indexOf(';');
          const hex = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
          if (!CHUNK_SIZE.test(hex)) throw badResponse(`chunk size "${line.slice(0, 40)}"`);
          this.#pos = eol + 2;
          this.#remaining = parseInt(hex, 16);
          this.#state = this.#remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'chunk-end':
          if (buf.length - this.#pos < 2) return null;
          if (buf[this.#pos] !== 13 || buf[this.#pos + 1] !== 10) throw badResponse('chunk end');
          this.#pos += 2;
          this.#state = 'chunk-size';
          break;
        case 'trailers': {
          // Trailer fields are skipped, up to the empty line that ends the message.
          const eol = this.#lineEnd(MAX_HEAD_BYTES, 'trailers too large');
          if (eol < 0) return null;
          const empty = eol === this.#pos;
          this.#pos = eol + 2;
          if (empty) return this.#complete();
          break;
        }
        case 'until-close':
          if (this.#pos < buf.length) this.#parts.push(buf.subarray(this.#pos));
          this.#pos = buf.length;
          return null;
      }
    }
  }

  /** Where the CRLF ending the line at `#pos` is, or -1 until it comes; past `max` bytes, `what` is wrong. */
  #lineEnd(max: number, what: string): number {
    const eol = this.#buf.indexOf(CRLF, this.#pos);
    if (eol < 0 && this.#buf.length - this.#pos > max) throw badResponse(what);
    return eol;
  }

  /** At the end of the stream: the response whose body it ends, if one is being read. */
  end(): Reply | null {
    return this.#state === 'until-close' ? this.#complete().reply : null;
  }

  /** Status line and headers (the head without its final CRLFCRLF); sets how the body is framed. */
  #readHead(head: string): void {
    const lines = head.split('\r\n');
    const m = STATUS_LINE.exec(lines[0]!);
    if (!m) throw badResponse(`status line "${lines[0]!.slice(0, 40)}"`);
    this.#status = Number(m[2]);
    // No prototype, so a header named __proto__ is just a header.
    const headers = Object.create(null) as Record<string, string>;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw badResponse(`header line "${line.slice(0, 40)}"`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}, ${value}`;
    }
    this.#headers = headers;
    const connection = headers.connection?.toLowerCase();
    this.#keepAlive =
      m[1] === '1' ? !connection?.includes('close') : !!connection?.includes('keep-alive');

    // Framing, as RFC 9112 §6.3 has it for responses to requests other than HEAD.
    if (this.#status < 200) return; // 1xx: an interim response, the real one follows
    if (this.#status === 204 || this.#status === 304) {
      this.#state = 'body';
      this.#remaining = 0;
      return;
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined) {
      this.#state = /(?:^|,)\s*chunked$/i.test(te) ? 'chunk-size' : 'until-close';
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw badResponse(`content-length "${cl.slice(0, 40)}"`);
      this.#state = 'body';
      this.#remaining = Number(cl);
    } else {
      this.#state = 'until-close';
    }
    if (this.#state === 'until-close') this.#keepAlive = false;
  }

  #complete(): ParsedResponse {
    const parts = this.#parts;
    const body = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const done = {
      reply: { status: this.#status, headers: this.#headers, body },
      keepAlive: this.#keepAlive,
    };
    this.#parts = [];
    this.#state = 'head';
    return done;
  }
}
