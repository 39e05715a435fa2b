import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A data file that fails the start-up check. LMDB itself trusts its file: a garbled meta page
 * makes it read wild pages and die with SIGSEGV, so the two meta pages are checked before open.
 */
export class CorruptDataFileError extends Error {
  readonly code = 'KV_STORAGE_CORRUPT';
  constructor(file: string, why: string) {
    super(
      `data file ${file} is corrupt (${why}); the node will not start on it. ` +
        'Move the data directory aside and start the node empty: its replicas refill it (handoff, anti-entropy).',
    );
    this.name = 'CorruptDataFileError';
  }
}

/** LMDB's meta-page magic (mdb.c `MDB_MAGIC`). */
const MDB_MAGIC = 0xbeefc0de;
/** `P_META` in a page header's flags. */
const P_META = 0x08;
/**
 * Offsets in a meta page of the LMDB that lmdb-js bundles (a 24-byte page header, then
 * MDB_meta): flags, magic, format version, page size (the free DB's `md_pad`), last page.
 */
const FLAGS_AT = 18;
const MAGIC_AT = 24;
const VERSION_AT = 28;
const PAGE_SIZE_AT = 48;
const LAST_PAGE_AT = 144;
const META_BYTES = 160;

/**
 * Checks `dir/data.mdb` before LMDB opens it: both meta pages must carry the magic, a known
 * version, a sane page size, and point at no page beyond the end of the file. A missing or empty
 * file is fine (a new node). Throws CorruptDataFileError with a message for the operator.
 */
export function checkLmdbDataFile(dir: string): void {
  const file = join(dir, 'data.mdb');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return; // no file yet: LMDB creates it
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const meta = Buffer.alloc(META_BYTES);
    let pageSize = 4096;
    for (const page of [0, 1]) {
      const at = page * pageSize;
      if (readSync(fd, meta, 0, META_BYTES, at) < META_BYTES) throw new CorruptDataFileError(file, `truncated: ${size} bytes, no meta page ${page}`);
      if ((meta.readUInt16LE(FLAGS_AT) & P_META) === 0) throw new CorruptDataFileError(file, `page ${page} is not a meta page`);
      if (meta.readUInt32LE(MAGIC_AT) !== MDB_MAGIC) throw new CorruptDataFileError(file, `meta page ${page} has a bad magic number`);
      const version = meta.readUInt32LE(VERSION_AT);
      if (version < 1 || version > 2) throw new CorruptDataFileError(file, `meta page ${page} has unknown format version ${version}`);
      const ps = meta.readUInt32LE(PAGE_SIZE_AT);
      if (ps < 512 || ps > 65536 || (ps & (ps - 1)) !== 0) throw new CorruptDataFileError(file, `meta page ${page} has an impossible page size ${ps}`);
      if (page === 0) pageSize = ps;
      else if (ps !== pageSize) throw new CorruptDataFileError(file, 'the meta pages disagree on the page size');
      const lastPage = Number(meta.readBigUInt64LE(LAST_PAGE_AT));
      if ((lastPage + 1) * pageSize > size) throw new CorruptDataFileError(file, `meta page ${page} points past the end of the file (page ${lastPage}, ${size} bytes)`);
    }
  } finally {
    closeSync(fd);
  }
}
