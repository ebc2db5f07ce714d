/**
 * A repo: its branches, its commits (newest first; new ones arrive live over the SDK's
 * `subscribeCommits` stream), a file browser at any commit with previews and downloads, and
 * the diff between two commits.
 */
import { useEffect, useState } from 'preact/hooks';
import type { CommitInfo, FileInfo } from '../../client/browser.js';
import type { Session } from '../session.js';
import { usePoll, useNow } from '../hooks.js';
import { href } from '../router.js';
import { ago, bytes, short, time } from '../format.js';
import { ErrorBox, Section } from '../widgets.js';
import { Preview } from '../preview.js';

export function RepoPage(props: { session: Session; name: string }) {
  const { session, name } = props;
  const c = session.client;
  const repo = usePoll(() => c.inspectRepo(name), 5000, [name]);
  const branches = usePoll(() => c.listBranches(name), 3000, [name]);
  const pipelines = usePoll(async () => (await c.listPipelines()).filter((p) => p.name === name), 0, [name]);
  const [branch, setBranch] = useState<string | undefined>(undefined);
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [diffOld, setDiffOld] = useState<string | undefined>(undefined);
  const list = branches.data ?? [];
  const current = branch ?? (list.some((b) => b.name === 'master') ? 'master' : list[0]?.name);
  const commits = useCommits(session, name, current);
  const head = commits.list[0];
  const at = selected ?? head?.id;
  const pipeline = pipelines.data?.[0];
  if (!session.canRead(name)) return <div class="error">This token may not read repo {name}.</div>;
  return (
    <div class="page repo-page">
      <h1>
        <span class="kind">repo</span> {name}
        {pipeline !== undefined && (
          <a class="sub" href={href({ page: pipeline.type === 'spout' ? 'spout' : 'pipeline', name })}>
            output of {pipeline.type} {name} →
          </a>
        )}
      </h1>
      <ErrorBox error={repo.error} />
      {repo.data !== undefined && (
        <p class="muted">
          {repo.data.description !== '' ? `${repo.data.description} · ` : ''}
          {bytes(repo.data.sizeBytes)} on master · created {time(repo.data.created)}
        </p>
      )}
      <div class="grid2">
        <Section title="Branches">
          <ErrorBox error={branches.error} />
          <table id="branches">
            <thead>
              <tr><th>branch</th><th>head</th><th>provenance</th></tr>
            </thead>
            <tbody>
              {list.map((b) => (
                <tr key={b.name} class={b.name === current ? 'sel' : ''} onClick={() => { setBranch(b.name); setSelected(undefined); setDiffOld(undefined); }}>
                  <td><a href="javascript:void 0">{b.name}</a></td>
                  <td class="mono">{short(b.head)}</td>
                  <td>{b.provenance.map((p) => `${p.repo}@${p.branch}`).join(', ') || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Diff" id="diff-section">
          <DiffPanel session={session} repo={name} commits={commits.list} newer={at} older={diffOld} onOlder={setDiffOld} />
        </Section>
      </div>
      <Section title={`Commits on ${current ?? '—'}`} right={<span class="muted">live</span>}>
        <ErrorBox error={commits.error} />
        <CommitTable commits={commits.list} selected={at} onSelect={(id) => { setSelected(id); setDiffOld(undefined); }} />
      </Section>
      {at !== undefined && (
        <Section title={`Files at ${short(at)}`}>
          <FileBrowser key={at} session={session} repo={name} commit={at} />
        </Section>
      )}
    </div>
  );
}

/** The branch's commits: a first page, then each finished commit as it arrives. */
function useCommits(session: Session, repo: string, branch: string | undefined): { list: CommitInfo[]; error: Error | undefined } {
  const [list, setList] = useState<CommitInfo[]>([]);
  const [error, setError] = useState<Error | undefined>(undefined);
  useEffect(() => {
    setList([]);
    setError(undefined);
    if (branch === undefined) return;
    const ac = new AbortController();
    const add = (cs: CommitInfo[]): void =>
      setList((old) => {
        const seen = new Set(old.map((x) => x.id));
        const fresh = cs.filter((x) => !seen.has(x.id));
        return fresh.length === 0 ? old : [...fresh.reverse(), ...old].slice(0, 500);
      });
    (async () => {
      const first = await session.client.listCommits(repo, { branch, limit: 100 });
      if (ac.signal.aborted) return;
      setList(first);
      const newest = first.find((x) => x.finished !== null);
      const opts = newest !== undefined ? { branch, from: newest.id, signal: ac.signal } : { branch, signal: ac.signal };
      for await (const cm of session.client.subscribeCommits(repo, opts)) add([cm]);
    })().catch((err: unknown) => {
      if (!ac.signal.aborted) setError(err as Error);
    });
    return () => ac.abort();
  }, [repo, branch]);
  return { list, error };
}

function CommitTable(props: { commits: CommitInfo[]; selected: string | undefined; onSelect: (id: string) => void }) {
  const now = useNow(1000);
  if (props.commits.length === 0) return <p class="muted">No commits.</p>;
  return (
    <table id="commits">
      <thead>
        <tr><th>commit</th><th>finished</th><th>size</th><th>origin</th><th>description</th><th>provenance</th></tr>
      </thead>
      <tbody>
        {props.commits.map((cm) => (
          <tr key={cm.id} data-commit={cm.id} class={cm.id === props.selected ? 'sel' : ''} onClick={() => props.onSelect(cm.id)}>
            <td class="mono" title={cm.id}>{short(cm.id)}</td>
            <td title={time(cm.finished ?? cm.started)}>{cm.finished === null ? 'open' : ago(cm.finished, now)}</td>
            <td>{bytes(cm.sizeBytes)}</td>
            <td>{cm.origin}</td>
            <td class="desc">{cm.description}</td>
            <td class="mono">{cm.provenance.map((p) => `${p.repo}@${short(p.id)}`).join(', ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FileBrowser(props: { session: Session; repo: string; commit: string }) {
  const [dir, setDir] = useState('/');
  const [file, setFile] = useState<FileInfo | undefined>(undefined);
  const files = usePoll(() => props.session.client.listFile(props.repo, props.commit, dir), 0, [props.repo, props.commit, dir]);
  const parts = dir.split('/').filter((p) => p !== '');
  return (
    <div class="files">
      <div class="path">
        <a href="javascript:void 0" onClick={() => { setDir('/'); setFile(undefined); }}>/</a>
        {parts.map((p, i) => (
          <span key={i}>
            <a href="javascript:void 0" onClick={() => { setDir(`/${parts.slice(0, i + 1).join('/')}`); setFile(undefined); }}>{p}</a>/
          </span>
        ))}
      </div>
      <ErrorBox error={files.error} />
      <div class="grid2">
        <table id="files">
          <thead>
            <tr><th>name</th><th>type</th><th>size</th></tr>
          </thead>
          <tbody>
            {(files.data ?? []).map((f) => {
              const base = f.path.slice(f.path.replace(/\/$/, '').lastIndexOf('/') + 1);
              return (
                <tr key={f.path} data-path={f.path} class={file?.path === f.path ? 'sel' : ''}>
                  <td>
                    <a href="javascript:void 0" onClick={() => (f.type === 'dir' ? (setDir(f.path.replace(/\/$/, '')), setFile(undefined)) : setFile(f))}>
                      {f.type === 'dir' ? '📁 ' : ''}{base}
                    </a>
                  </td>
                  <td>{f.type}</td>
                  <td>{bytes(f.sizeBytes)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <div>{file !== undefined ? <Preview session={props.session} repo={props.repo} commit={props.commit} file={file} /> : <p class="muted">Pick a file to preview it.</p>}</div>
      </div>
    </div>
  );
}

function DiffPanel(props: { session: Session; repo: string; commits: CommitInfo[]; newer: string | undefined; older: string | undefined; onOlder: (id: string | undefined) => void }) {
  const finished = props.commits.filter((c) => c.finished !== null);
  const newer = props.newer;
  const newerInfo = props.commits.find((c) => c.id === newer);
  const older = props.older ?? newerInfo?.parent ?? undefined;
  const diff = usePoll(
    async () => (newer === undefined ? [] : props.session.client.diffFile(props.repo, newer, older !== undefined ? { old: older } : {})),
    0,
    [props.repo, newer, older],
  );
  if (newer === undefined) return <p class="muted">No commit.</p>;
  return (
    <div>
      <p>
        <span class="mono">{short(newer)}</span> against{' '}
        <select id="diff-old" value={older ?? ''} onChange={(e) => props.onOlder((e.target as HTMLSelectElement).value || undefined)}>
          <option value="">(its parent)</option>
          {finished.filter((c) => c.id !== newer).map((c) => (
            <option key={c.id} value={c.id}>{short(c.id)} {c.description.slice(0, 30)}</option>
          ))}
        </select>
      </p>
      <ErrorBox error={diff.error} />
      <table id="diff">
        <thead>
          <tr><th>change</th><th>path</th><th>old size</th><th>new size</th></tr>
        </thead>
        <tbody>
          {(diff.data ?? []).map((d) => (
            <tr key={d.path} class={`ch-${d.change}`}>
              <td>{d.change}</td>
              <td class="mono">{d.path}</td>
              <td>{d.oldSizeBytes === null ? '—' : bytes(d.oldSizeBytes)}</td>
              <td>{d.newSizeBytes === null ? '—' : bytes(d.newSizeBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff.data !== undefined && diff.data.length === 0 && <p class="muted">No changes.</p>}
    </div>
  );
}
