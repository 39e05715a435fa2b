#!/usr/bin/env node
// Container health check (Dockerfile HEALTHCHECK, compose, anything without curl): exits 0 when
// HEALTHCHECK_URL (default http://127.0.0.1:$PORT/health, PORT default 7001) answers 2xx
// within 2 s, else 1. Plain JavaScript, so it starts fast and needs no TypeScript loader.
const url = process.env.HEALTHCHECK_URL || `http://127.0.0.1:${process.env.PORT || '7001'}/health`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
