/** CRDT documents: the public surface the node uses (document.ts lists the rules CRDT1..12). */
export {
  applyPatch,
  documentRow,
  documentView,
  emptyDocument,
  isEmptyDocument,
  mergeDocuments,
  prune,
  retryState,
  visibleType,
  type DocumentState,
  type FieldState,
  type PatchContext,
  type PatchResult,
  type PruneOptions,
} from './document.ts';
export {
  isOperatorBody,
  parsePatch,
  patchFingerprint,
  type FieldOp,
  type FieldType,
  type Patch,
} from './patch.ts';
export {
  decodeDocument,
  decodeTable,
  documentRowText,
  encodeApplications,
  encodeDocument,
  documentFormatVersion,
  type EncodedDocument,
} from './codec.ts';
export { newestMs } from './idempotency.ts';
export { compareHlc, hlcZero, maxHlc, receive, tick, type Hlc } from './hlc.ts';
export * from './limits.ts';
export { contextFromDots, contextMissing, emptyContext, singleDot, type CausalContext, type Dot } from './causal-context.ts';
