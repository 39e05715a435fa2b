/**
 * Every bound of the CRDT documents, in one place so docs/LIMITS.md can list them.
 * Each name ends with its unit. Bounds are enforced when a patch is parsed or applied
 * (KV_BAD_REQUEST / KV_PAYLOAD_TOO_LARGE); a merge never fails, so merged states may
 * exceed the per-apply bounds by the amount of concurrency (see `decodeEntriesMax`).
 */

/** Field updates in one patch. A patch is applied atomically; 256 keeps one apply cheap. */
export const patchOpsMax = 256;

/**
 * Fields (names, including removed register fields, which keep a tombstone) per document.
 * The document (without its idempotency table) is read, merged and written on every update,
 * so it has to stay small.
 */
export const fieldsMax = 1024;

/** Characters in a field name. */
export const fieldNameCharsMax = 256;

/** Nesting depth of a register value: a scalar is depth 0, `[1]` is 1, `{"a":[1]}` is 2. */
export const registerDepthMax = 32;

/** Elements in one set field (checked when an op makes the set grow). */
export const setElementsMax = 10_000;

/** Characters of one set element's canonical JSON (tags, ids; not documents). */
export const setElementCharsMax = 1024;

/** Characters in an Idempotency-Key (visible ASCII, like an HTTP header token). */
export const idempotencyKeyCharsMax = 255;

/**
 * Idempotency keys remembered per document (newest kept). A node stores a document's table
 * apart from it, one row per key (src/node/document-tables.ts), so an update costs the same
 * whatever the table's size; the bound limits disk use (~60 bytes a key) and the size of a
 * replica's full state (read replies, repair, handoff: ~600 KB at the bound). For a document
 * updated with keys at R patches/s, exactly-once covers retries within min(24 h, 10,000 / R s).
 * Before the table had rows of its own, 10,000 keys cost ~2 ms per update and growing; a
 * smaller bound is no fix: with 1,000 a long partition outlived the key of a retried update.
 */
export const idempotencyEntriesMax = 10_000;

/**
 * How long an idempotency key is remembered (Stripe keeps keys 24 h). It must be far
 * longer than the time replicas take to exchange state (anti-entropy runs every few
 * seconds), or a retry coordinated by a replica that had not seen the first attempt can
 * no longer be recognised when the two states meet.
 */
export const idempotencyRetentionMs = 24 * 60 * 60 * 1000;

/**
 * Entries (fields, counter actors, set elements, dots, idempotency records) a decoded
 * document may hold in total. Larger than any state the apply-time bounds can produce
 * together with concurrent merges; it only stops hostile or corrupt input from
 * allocating without bound.
 */
export const decodeEntriesMax = 1_000_000;
