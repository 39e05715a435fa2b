import { createServer, type Server } from 'node:net';

/**
 * Takes `port` on 127.0.0.1 the way another program would, so a test can see what a node, a
 * cluster or the Lab does when its port is in use. Every connection is dropped at once: nodes
 * dial their seeds, and `close()` would otherwise wait for those connections to end.
 */
export function holdPort(port: number): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Releases a port taken with holdPort. */
export function releasePort(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
