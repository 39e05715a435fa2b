/**
 * Names shared by every layer. One word per concept (see ARCHITECTURE.md, "Vocabulary").
 */

/** A node's stable id, e.g. `n1`. Also the actor name in version vectors. */
export type NodeId = string;

/** Index of one of the Q fixed, equal partitions of the hash space (Dynamo §6.2, strategy 3). */
export type PartitionIndex = number;

/** A user key: 1..512 bytes of UTF-8. */
export type Key = string;

/** Where a node's peer (TCP) port listens. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Node ids are used as object keys and actor names, so they are kept to a safe alphabet. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'string' && NODE_ID_PATTERN.test(value) && value !== '__proto__';
}
