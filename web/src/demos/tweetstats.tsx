import type { ReactNode } from 'react';
import { DemoPlaceholder } from './demo-placeholder.tsx';

/** `/demo/tweetstats` — issue 8. Replace this component with the demo page. */
export default function TweetStatsPage(): ReactNode {
  return <DemoPlaceholder title="TweetStats" issue={8} />;
}
