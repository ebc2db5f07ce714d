/**
 * The web console's entry: opens a session (asking for a token when auth is active), then
 * shows the page the URL's hash names. Everything it shows comes from the SDK's browser entry.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { openSession, storeToken, type Session } from './session.js';
import { href, useRoute } from './router.js';
import { DagPage } from './pages/dag.js';
import { RepoPage } from './pages/repo.js';
import { PipelinePage } from './pages/pipeline.js';
import { SpoutPage } from './pages/spout.js';
import { ErrorBox } from './widgets.js';

type State = { kind: 'loading' } | { kind: 'ok'; session: Session } | { kind: 'needToken'; message: string } | { kind: 'error'; error: Error };

function App() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const open = (token?: string): void => {
    setState({ kind: 'loading' });
    openSession(token)
      .then((r) => {
        if (r.kind === 'ok' && token !== undefined) storeToken(token);
        setState(r);
      })
      .catch((err: unknown) => setState({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)) }));
  };
  useEffect(() => open(), []);
  if (state.kind === 'loading') return <p class="boot">Connecting to the daemon…</p>;
  if (state.kind === 'error') return <ErrorBox error={state.error} />;
  if (state.kind === 'needToken') return <Login message={state.message} onToken={open} />;
  return (
    <Shell
      session={state.session}
      onLogout={() => {
        storeToken(undefined);
        open();
      }}
    />
  );
}

function Login(props: { message: string; onToken: (t: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <form
      class="login"
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim() !== '') props.onToken(token.trim());
      }}
    >
      <h1>Sluice</h1>
      <p>{props.message}</p>
      <p class="muted">The token is kept for this browser tab only (sessionStorage).</p>
      <input id="token" type="password" placeholder="token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
    </form>
  );
}

function Shell(props: { session: Session; onLogout: () => void }) {
  const route = useRoute();
  const s = props.session;
  return (
    <>
      <header class="top">
        <a class="brand" href={href({ page: 'dag' })}>Sluice</a>
        <nav class="crumbs">
          <a href={href({ page: 'dag' })}>DAG</a>
          {route.page !== 'dag' && (
            <>
              {' / '}
              <span>
                {route.page} <b>{route.name}</b>
              </span>
            </>
          )}
        </nav>
        <span class="who">
          {s.access.active ? (
            <>
              {s.principal ?? 'signed in'}
              {s.access.clusterAdmin ? ' (clusterAdmin)' : ''}{' '}
              <button class="link" id="logout" onClick={props.onLogout}>sign out</button>
            </>
          ) : (
            'auth off'
          )}
        </span>
      </header>
      <main>
        {route.page === 'dag' && <DagPage session={s} />}
        {route.page === 'repo' && <RepoPage key={route.name} session={s} name={route.name} />}
        {route.page === 'pipeline' && <PipelinePage key={route.name} session={s} name={route.name} />}
        {route.page === 'spout' && <SpoutPage key={route.name} session={s} name={route.name} />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
