import { connect } from 'node:net';

/**
 * Fails before a run when a `--url` node does not accept connections. Without this, a run
 * against a cluster that is not there spends its whole duration counting ECONNREFUSED and
 * reports 0 ops/s with exit code 0. Only a TCP connection is tried, not an HTTP request: the
 * bench also drives servers that would take any request as a write (the minimal probe).
 */
export async function assertReachable(urls: readonly string[], timeoutMs = 3000): Promise<void> {
  await Promise.all(
    urls.map((url) =>
      tcpConnect(url, timeoutMs).catch((e: unknown) => {
        const code = (e as { code?: string }).code ?? (e as Error).message;
        throw new Error(
          `cannot reach ${url} (${code}): is a cluster running there? (or use --start)`,
        );
      }),
    ),
  );
}

function tcpConnect(url: string, timeoutMs: number): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    // URL keeps an IPv6 host in brackets; net.connect wants it bare.
    const socket = connect({
      host: hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(port || 80),
    });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}
