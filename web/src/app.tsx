import { Suspense, type ReactNode } from 'react';
import { DEMOS } from './demos/registry.ts';
import { Dashboard } from './pages/dashboard.tsx';
import { Link, usePath } from './router.tsx';
import { useLab } from './data/lab-source.ts';

/** The Lab shell: a header with the pages, and the page for the current path. */
export function App(): ReactNode {
  const path = usePath();
  const { connected, error } = useLab();
  const demo = DEMOS.find((d) => d.path === path);
  let page: ReactNode;
  if (path === '/' || path === '') page = <Dashboard />;
  else if (demo) page = <demo.page />;
  else
    page = (
      <section className="panel">
        <h2>Not found</h2>
        <p>
          No page {path}. <Link to="/">Back to the dashboard</Link>.
        </p>
      </section>
    );
  return (
    <div className="shell">
      <header className="topbar">
        <h1>
          <Link to="/">nosql-db Lab</Link>
        </h1>
        <nav>
          <Link to="/" className={path === '/' ? 'active' : ''}>
            Dashboard
          </Link>
          {DEMOS.map((d) => (
            <Link key={d.path} to={d.path} className={path === d.path ? 'active' : ''}>
              {d.title}
            </Link>
          ))}
        </nav>
        <span className={`conn ${connected ? 'ok' : 'bad'}`} data-testid="connection" title={error ?? ''}>
          {connected ? 'live' : 'connecting…'}
        </span>
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  );
}
