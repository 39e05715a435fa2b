import type { ReactNode } from 'react';
import { DemoPlaceholder } from './demo-placeholder.tsx';

/** `/demo/collabdocs` — issue 9. Replace this component with the demo page. */
export default function CollabDocsPage(): ReactNode {
  return <DemoPlaceholder title="CollabDocs" issue={9} />;
}
