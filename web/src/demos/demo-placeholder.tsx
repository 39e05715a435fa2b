import type { ReactNode } from 'react';
import { Link } from '../router.tsx';

/** Shown by a demo page until it is built. */
export function DemoPlaceholder(props: { title: string; issue: number }): ReactNode {
  return (
    <section className="panel" data-testid="demo-placeholder">
      <h2>{props.title}</h2>
      <p>
        This demo is not built yet (issue {props.issue}). It will run inside the Lab on the same cluster: use the{' '}
        <Link to="/">dashboard</Link> to watch the nodes meanwhile.
      </p>
    </section>
  );
}
