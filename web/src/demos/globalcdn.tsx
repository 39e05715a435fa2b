import type { ReactNode } from 'react';
import { DemoPlaceholder } from './demo-placeholder.tsx';

/** `/demo/globalcdn` — issue 10. Replace this component with the demo page. */
export default function GlobalCDNPage(): ReactNode {
  return <DemoPlaceholder title="GlobalCDN" issue={10} />;
}
