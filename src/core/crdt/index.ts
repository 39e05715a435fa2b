/** CRDT documents: the public surface the node uses (document.ts lists the rules CRDT1..11). */
export {
  applyPatch,
  documentView,
  emptyDocument,
  isEmptyDocument,
  mergeDocuments,
  prune,
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
  encodeDocument,
  documentFormatVersion,
  type EncodedDocument,
} from './codec.ts';
export { compareHlc, hlcZero, maxHlc, receive, tick, type Hlc } from './hlc.ts';
export * from './limits.ts';
