import type { NodeId } from '../core/types.ts';

/**
 * A simple failure detector from gossip: every member pings every other about once per gossip
 * interval, so silence for a few intervals means trouble. A peer whose connection is refused
 * (the process is gone) is down at once.
 */
export class Liveness {
  readonly #lastHeardMs = new Map<NodeId, number>();
  readonly #suspectAfterMs: number;
  readonly #downAfterMs: number;

  constructor(gossipIntervalMs: number) {
    this.#suspectAfterMs = gossipIntervalMs * 3;
    this.#downAfterMs = gossipIntervalMs * 6;
  }

  heard(id: NodeId, nowMs: number): void {
    this.#lastHeardMs.set(id, nowMs);
  }

  state(id: NodeId, nowMs: number, reachable: boolean): 'up' | 'suspect' | 'down' {
    if (!reachable) return 'down';
    const last = this.#lastHeardMs.get(id);
    if (last === undefined) return 'suspect';
    const silent = nowMs - last;
    if (silent <= this.#suspectAfterMs) return 'up';
    return silent <= this.#downAfterMs ? 'suspect' : 'down';
  }
}
