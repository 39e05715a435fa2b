#!/usr/bin/env node
// Entry point of the `nosqldb` command. The sources are TypeScript, loaded through tsx's
// loader so that no separate build step stands between a clone and a running cluster.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
