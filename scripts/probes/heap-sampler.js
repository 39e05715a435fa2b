// Preload (--import) for a node process: samples what it allocates (every allocation, also those the next
// scavenge frees) for HEAP_SAMPLE_S seconds from HEAP_SAMPLE_START_S seconds after start, and
// writes the profile to heap-<pid>.heapprofile in HEAP_SAMPLE_DIR (default: the temp dir). Open it
// in Chrome DevTools (Memory, Load), or sum it by allocation site. Used to find what a write
// allocates per node (docs/BENCHMARKS.md, "Profiling the nodes"):
//   HEAP_SAMPLE_START_S=10 HEAP_SAMPLE_S=4 NOSQLDB_NODE_EXEC_ARGV="--import $PWD/scripts/probes/heap-sampler.js" \
//     nosqldb cluster --nodes 3 --base-port 7611 --data-dir /tmp/hs --fresh
import inspector from 'node:inspector';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const session = new inspector.Session();
session.connect();
const startMs = Number(process.env.HEAP_SAMPLE_START_S ?? 8) * 1000;
const durationMs = Number(process.env.HEAP_SAMPLE_S ?? 4) * 1000;
const dir = process.env.HEAP_SAMPLE_DIR ?? os.tmpdir();
const sampling = { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true };
setTimeout(() => {
  session.post('HeapProfiler.startSampling', sampling, () => {
    setTimeout(() => {
      session.post('HeapProfiler.stopSampling', (err, result) => {
        if (err) return;
        fs.writeFileSync(path.join(dir, `heap-${process.pid}.heapprofile`), JSON.stringify(result.profile));
      });
    }, durationMs).unref();
  });
}, startMs).unref();
