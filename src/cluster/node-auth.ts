/**
 * The Lab process talks to its nodes from many modules with plain `fetch`. When the nodes are
 * guarded by an admin token (an attached Compose/Kubernetes cluster), every request to a node's
 * origin must carry it. Rather than thread the token through every call site, the Lab installs
 * this once at start: requests to the given origins get `Authorization: Bearer <token>` unless
 * they already carry an Authorization header. Requests to anything else are untouched.
 */
export function authorizeNodeRequests(nodeUrls: readonly string[], token: string): void {
  const origins = new Set(nodeUrls.map((u) => new URL(u).origin));
  const inner = globalThis.fetch;
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let origin: string | null = null;
    try {
      origin = new URL(url).origin;
    } catch {
      // Not an absolute URL: not ours to touch.
    }
    if (origin === null || !origins.has(origin)) return inner(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
    return inner(input, { ...init, headers });
  };
}
