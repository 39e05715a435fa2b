import type { NodeId } from '../core/types.ts';

/** What a node tells the world about itself, streamed on `GET /events` (one JSON per message). */
export type NodeEvent = { readonly type: string; readonly node: NodeId; readonly atMs: number } & Readonly<Record<string, unknown>>;

export type EventListener = (e: NodeEvent) => void;

/** A tiny fan-out with a bound on listeners, so a flood of WebSocket clients cannot grow it. */
export class EventHub {
  static readonly LISTENERS_MAX = 256;
  #listeners = new Set<EventListener>();

  subscribe(fn: EventListener): () => void {
    if (this.#listeners.size >= EventHub.LISTENERS_MAX) throw new Error('too many event listeners');
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  emit(e: NodeEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch {
        // A failing listener must never break the node.
      }
    }
  }
}
