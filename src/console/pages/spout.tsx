/**
 * A spout: how fast it commits (commits per second over the last 10 s and 60 s, from the
 * finish times of its output branch's commits), its last marker (the `marker` branch) and its
 * lag (how long since its last commit). Publish->commit latency needs a connector that records
 * when each message was published; this build has none, so the page says so.
 */
import type { CommitInfo } from '../../client/browser.js';
import type { Session } from '../session.js';
import { usePoll, useNow } from '../hooks.js';
import { href } from '../router.js';
import { ago, bytes, short, time } from '../format.js';
import { ErrorBox, Section } from '../widgets.js';
import { PipelineHeader } from './pipeline.js';
import { LogView } from '../logs.js';
import { asText } from '../preview.js';

/** Commits per second over the `windowMs` before `now`. */
export function commitRate(commits: CommitInfo[], windowMs: number, now: number): number {
  const n = commits.filter((c) => c.finished !== null && c.finished > now - windowMs && c.finished <= now).length;
  return n / (windowMs / 1000);
}

interface Marker {
  commit: CommitInfo;
  files: Array<{ path: string; sizeBytes: number; text: string | undefined }>;
}

async function loadMarker(session: Session, repo: string): Promise<Marker | null> {
  const branches = await session.client.listBranches(repo);
  const b = branches.find((x) => x.name === 'marker');
  if (b === undefined || b.head === null) return null;
  const commit = await session.client.inspectCommit(repo, b.head);
  const files = (await session.client.globFile(repo, b.head, '/**')).filter((f) => f.type === 'file').slice(0, 20);
  const out: Marker['files'] = [];
  for (const f of files) {
    const text = f.sizeBytes <= 4096 ? asText(await session.client.getFileBytes(repo, b.head, f.path)) : undefined;
    out.push({ path: f.path, sizeBytes: f.sizeBytes, text });
  }
  return { commit, files: out };
}

export function SpoutPage(props: { session: Session; name: string }) {
  const { session, name } = props;
  const now = useNow(1000);
  const info = usePoll(() => session.client.inspectPipeline(name), 2000, [name]);
  const branch = info.data?.outputBranch ?? 'master';
  const commits = usePoll(() => session.client.listCommits(name, { branch, limit: 500 }), 1000, [name, branch]);
  const marker = usePoll(() => loadMarker(session, name), 2000, [name]);
  if (!session.canRead(name)) return <div class="error">This token may not read spout {name}.</div>;
  const list = commits.data ?? [];
  const last = list.find((c) => c.finished !== null);
  const open = list[0] !== undefined && list[0].finished === null;
  return (
    <div class="page spout-page">
      <h1>
        <span class="kind">spout</span> {name}{' '}
        <a class="sub" href={href({ page: 'repo', name })}>output repo →</a>
        <a class="sub" href={href({ page: 'pipeline', name })}>jobs, spec, versions →</a>
      </h1>
      <ErrorBox error={info.error} />
      {info.data !== undefined && <PipelineHeader session={session} p={info.data} onChange={info.reload} />}
      <div class="stats">
        <div class="stat" id="rate-10s"><b>{commitRate(list, 10_000, now).toFixed(2)}</b> commits/s (last 10 s)</div>
        <div class="stat" id="rate-60s"><b>{commitRate(list, 60_000, now).toFixed(2)}</b> commits/s (last 60 s)</div>
        <div class="stat" id="lag"><b>{last === undefined ? '—' : ago(last.finished, now)}</b> since the last commit{open ? ' (a commit is open)' : ''}</div>
        <div class="stat" id="latency"><b>n/a</b> publish→commit latency: needs a connector that records publish times; this build has none</div>
      </div>
      <ErrorBox error={commits.error} />
      <Section title="Last marker" id="marker">
        <ErrorBox error={marker.error} />
        {marker.data === null && <p class="muted">No marker branch: this spout keeps no marker.</p>}
        {marker.data !== undefined && marker.data !== null && (
          <>
            <p class="muted">
              marker commit <span class="mono">{short(marker.data.commit.id)}</span> · {ago(marker.data.commit.finished, now)} · {time(marker.data.commit.finished)}
            </p>
            <table>
              <tbody>
                {marker.data.files.map((f) => (
                  <tr key={f.path}>
                    <td class="mono">{f.path}</td>
                    <td>{bytes(f.sizeBytes)}</td>
                    <td class="mono marker-value">{f.text ?? '(binary or large)'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Section>
      <Section title={`Recent commits on ${branch}`}>
        <table id="spout-commits">
          <thead>
            <tr><th>commit</th><th>finished</th><th>size</th><th>description</th></tr>
          </thead>
          <tbody>
            {list.slice(0, 20).map((c) => (
              <tr key={c.id} data-commit={c.id}>
                <td class="mono">{short(c.id)}</td>
                <td>{c.finished === null ? 'open' : ago(c.finished, now)}</td>
                <td>{bytes(c.sizeBytes)}</td>
                <td class="desc">{c.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Logs" right={<span class="muted">following</span>}>
        <LogView session={session} pipeline={name} />
      </Section>
    </div>
  );
}
