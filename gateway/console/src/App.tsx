/**
 * The console's shell: navigation between its pages (client routes under /console/, which the gateway answers
 * with index.html), and the sign-in box for gateways that verify identity.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { savedToken, saveToken } from './graphqlClient';
import { DeadLettersPage } from './pages/DeadLettersPage';
import { ExceptionsPage } from './pages/ExceptionsPage';
import { OverviewPage } from './pages/OverviewPage';
import { RunsPage } from './pages/RunsPage';

const PAGES = [
  { path: '', title: 'Overview', render: () => <OverviewPage /> },
  { path: 'exceptions', title: 'Exceptions', render: () => <ExceptionsPage /> },
  { path: 'dead-letters', title: 'Dead letters', render: () => <DeadLettersPage /> },
  { path: 'runs', title: 'Runs', render: () => <RunsPage /> },
] as const;

const BASE = '/console/';
const currentPath = () => (location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).replace(/\/$/, '') : '');

export function App() {
  const [path, setPath] = useState(currentPath);
  const [token, setToken] = useState(savedToken);
  useEffect(() => {
    const onPop = () => setPath(currentPath());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const page = PAGES.find((candidate) => candidate.path === path) ?? PAGES[0];
  useEffect(() => {
    document.title = `${page.title} · psgraph operations`;
  }, [page]);
  const go = (target: string) => (event: React.MouseEvent) => {
    event.preventDefault();
    history.pushState(null, '', BASE + target);
    setPath(target);
  };
  return (
    <div className="shell">
      <header className="top">
        <strong className="brand">psgraph operations</strong>
        <nav aria-label="Console pages">
          {PAGES.map((candidate) => (
            <a key={candidate.path} href={BASE + candidate.path} onClick={go(candidate.path)} aria-current={candidate === page ? 'page' : undefined}>
              {candidate.title}
            </a>
          ))}
        </nav>
        <SignIn
          token={token}
          onChange={(next) => {
            saveToken(next);
            setToken(next);
          }}
        />
      </header>
      <main key={`${page.path}|${token ?? ''}`}>
        <h1>{page.title}</h1>
        {page.render()}
      </main>
    </div>
  );
}

/** A bearer token for gateways with identity configured; a development gateway needs none. */
function SignIn(props: { token: string | null; onChange: (token: string | null) => void }) {
  const [draft, setDraft] = useState('');
  if (props.token) {
    return (
      <div className="sign-in">
        <span>Signed in with a token</span>
        <button type="button" onClick={() => props.onChange(null)}>
          Sign out
        </button>
      </div>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.trim()) props.onChange(draft.trim().replace(/^Bearer\s+/i, ''));
    setDraft('');
  };
  return (
    <form className="sign-in" onSubmit={submit} aria-label="Sign in">
      <label>
        Bearer token{' '}
        <input type="password" value={draft} onChange={(event) => setDraft(event.target.value)} autoComplete="off" placeholder="only if the gateway asks" />
      </label>
      <button type="submit">Sign in</button>
    </form>
  );
}
