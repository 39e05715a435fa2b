import type { ReactNode } from 'react';
import { DemoPlaceholder } from './demo-placeholder.tsx';

/** `/demo/inventorysync` — issue 11. Replace this component with the demo page. */
export default function InventorySyncPage(): ReactNode {
  return <DemoPlaceholder title="InventorySync" issue={11} />;
}
