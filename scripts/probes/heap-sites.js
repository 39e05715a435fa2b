#!/usr/bin/env node
// Sums a sampling heap profile (scripts/probes/heap-sampler.js, or one saved from DevTools) by
// allocation site: bytes allocated at each function, the largest first, with their share.
// Usage: node scripts/probes/heap-sites.js heap-1234.heapprofile [rows]
import { readFileSync } from 'node:fs';

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/probes/heap-sites.js FILE.heapprofile [rows]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const bySite = new Map();
let total = 0;
const stack = [profile.head];
while (stack.length > 0) {
  const node = stack.pop();
  const { functionName, url, lineNumber } = node.callFrame;
  const site = `${functionName || '(anonymous)'} ${url.split('/').pop()}:${lineNumber + 1}`;
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  total += node.selfSize;
  stack.push(...(node.children ?? []));
}
const rows = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 30));
for (const [site, bytes] of rows) {
  console.log(`${((100 * bytes) / total).toFixed(2).padStart(6)}%  ${(bytes / 1e6).toFixed(1).padStart(8)} MB  ${site}`);
}
console.log(`total ${(total / 1e6).toFixed(1)} MB`);
