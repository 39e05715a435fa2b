import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

/**
 * The demo pages (CONTRACT §4). Each is one route and one page component in its own file
 * under web/src/demos/; to build a demo, replace its component — nothing else changes.
 */
export interface Demo {
  readonly path: string;
  readonly title: string;
  readonly summary: string;
  readonly page: LazyExoticComponent<ComponentType>;
}

export const DEMOS: readonly Demo[] = [
  { path: '/demo/tweetstats', title: 'TweetStats', summary: 'A distributed like counter (CRDT $inc, idempotency keys).', page: lazy(() => import('./tweetstats.tsx')) },
  { path: '/demo/collabdocs', title: 'CollabDocs', summary: 'Concurrent editing with vector clocks, siblings and resolution.', page: lazy(() => import('./collabdocs.tsx')) },
  { path: '/demo/globalcdn', title: 'GlobalCDN', summary: 'Content on a consistent-hash ring: placement and rebalancing.', page: lazy(() => import('./globalcdn.tsx')) },
  { path: '/demo/inventorysync', title: 'InventorySync', summary: 'Warehouse stock kept consistent by Merkle anti-entropy.', page: lazy(() => import('./inventorysync.tsx')) },
];
