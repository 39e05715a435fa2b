import { Suspense, useState, type FormEvent, type ReactNode } from 'react';
import { DEMOS } from './demos/registry.ts';
import { Dashboard } from './pages/dashboard.tsx';
import { Replay } from './pages/replay.tsx';
import { Link, usePath } from './router.tsx';
import { labSource, useLab } from './data/lab-source.ts';

/** The Lab's own pages besides the demos: `/replay` is an extension of CONTRACT §4 (docs/LAB.md). */
const REPLAY_PATH = '/replay';

/** The Lab shell: a header with the pages, and the page for the current path. */
export function App(): ReactNode {
  const path = usePath();
  const { connected, error, needsToken } = useLab();
  const demo = DEMOS.find((d) => d.path === path);
  let page: ReactNode;
  if (path === '/' || path === '') page = <Dashboard />;
  else if (path === REPLAY_PATH) page = <Replay />;
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
          <Link to={REPLAY_PATH} className={path === REPLAY_PATH ? 'active' : ''}>
            Replay
          </Link>
        </nav>
        <span className={`conn ${connected ? 'ok' : 'bad'}`} data-testid="connection" title={error ?? ''}>
          {connected ? 'live' : 'connecting…'}
        </span>
        {needsToken && <TokenForm />}
      </header>
      <main>
        <Suspense fallback={<p>Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  );
}

/** Shown when the Lab answers 401: it runs with `--admin-token`, and this tab needs it too. */
function TokenForm(): ReactNode {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (value !== '') labSource.setToken(value);
  };
  return (
    <form className="token" onSubmit={submit} data-testid="token-form">
      <label>
        admin token
        <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} data-testid="token-input" />
      </label>
      <button type="submit">Use</button>
    </form>
  );
}
