import type { LocalNodeInfo, LocalNodeSpec } from './local-cluster.ts';

/**
 * What the Lab needs from "the cluster": its nodes and a way to kill, restart, add and remove
 * them. `LocalCluster` does it with child processes on this machine; `AttachedCluster` does
 * it for a cluster someone else runs (Docker Compose, Kubernetes), through the nodes' HTTP API.
 */
export interface ClusterBackend {
  nodes(): LocalNodeInfo[];
  urlOf(id: string): string;
  kill(id: string): void;
  restart(id: string): void;
  start(specs: readonly LocalNodeSpec[]): void;
  stopNode(id: string, graceMs?: number): Promise<void>;
  remove(id: string): void;
  stop(graceMs?: number): Promise<void>;
  /** Whether this backend starts and restarts processes itself (false when attached). */
  readonly managesProcesses: boolean;
}
