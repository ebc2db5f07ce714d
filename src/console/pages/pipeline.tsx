/**
 * A pipeline: its state (crashing with the reason, paused, …), its spec with every version,
 * its jobs with progress bars, the datums of a job with their inputs, and logs that follow
 * live. Stop, start and update (a JSON editor) are shown only to tokens that may do them
 * (owner of the output repo).
 */
import { useState } from 'preact/hooks';
import type { JobInfo, PipelineInfo } from '../../client/browser.js';
import type { Session } from '../session.js';
import { usePoll, useNow } from '../hooks.js';
import { href } from '../router.js';
import { ago, bytes, duration, short, time } from '../format.js';
import { Badge, ErrorBox, Progress, Section } from '../widgets.js';
import { LogView } from '../logs.js';
import { pipelineStatus } from './dag.js';

/**
 * The spec to edit: the normalized spec without its empty strings and nulls. The daemon fills
 * unset fields with "" (e.g. `datumTimeout`), which its own parser refuses when the spec is
 * sent back; leaving them out keeps the defaults.
 */
export function editableSpec(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(editableSpec);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== '' && x !== null) out[k] = editableSpec(x);
  return out;
}

export function PipelinePage(props: { session: Session; name: string }) {
  const { session, name } = props;
  const info = usePoll(() => session.client.inspectPipeline(name), 2000, [name]);
  const p = info.data;
  if (!session.canRead(name)) return <div class="error">This token may not read pipeline {name}.</div>;
  return (
    <div class="page pipeline-page">
      <h1>
        <span class="kind">{p?.type ?? 'pipeline'}</span> {name}{' '}
        <a class="sub" href={href({ page: 'repo', name })}>output repo →</a>
        {p?.type === 'spout' && <a class="sub" href={href({ page: 'spout', name })}>spout rates →</a>}
      </h1>
      <ErrorBox error={info.error} />
      {p !== undefined && <PipelineHeader session={session} p={p} onChange={info.reload} />}
      <PipelineBody session={session} name={name} version={p?.version} />
    </div>
  );
}

export function PipelineHeader(props: { session: Session; p: PipelineInfo; onChange: () => void }) {
  const { session, p } = props;
  const st = pipelineStatus(p);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<Error | undefined>(undefined);
  const act = (f: () => Promise<unknown>): void => {
    setBusy(true);
    setErr(undefined);
    f()
      .then(() => props.onChange())
      .catch((e: unknown) => setErr(e as Error))
      .finally(() => setBusy(false));
  };
  const owner = session.canOwn(p.name);
  return (
    <div class="card">
      <div class="facts">
        <span>state <Badge state={st.cls} title={st.reason} /> <span id="pipeline-state">{st.label}</span></span>
        <span>version {p.version}</span>
        <span>workers {p.workersRunning}/{p.parallelism}</span>
        <span>input <code>{p.input}</code></span>
        <span>output branch {p.outputBranch}</span>
        <span>jobs ✓{p.jobCounts.success} ✗{p.jobCounts.failure} ▶{p.jobCounts.running} killed {p.jobCounts.killed}</span>
        <span>updated {time(p.updated)}</span>
      </div>
      {st.reason !== '' && <p class="reason" id="pipeline-reason">{st.reason}</p>}
      {owner && (
        <div class="actions" id="pipeline-actions">
          {p.stopped ? (
            <button id="start" disabled={busy} onClick={() => act(() => session.client.startPipeline(p.name))}>start</button>
          ) : (
            <button id="stop" disabled={busy} onClick={() => act(() => session.client.stopPipeline(p.name))}>stop</button>
          )}
        </div>
      )}
      <ErrorBox error={err} />
    </div>
  );
}

function PipelineBody(props: { session: Session; name: string; version: number | undefined }) {
  const { session, name } = props;
  const [job, setJob] = useState<string | undefined>(undefined);
  const [datum, setDatum] = useState<string | undefined>(undefined);
  const jobs = usePoll(() => session.client.listJobs({ pipeline: name }), 2000, [name]);
  return (
    <>
      <Section title="Jobs" right={<span class="muted">updates every 2 s</span>}>
        <ErrorBox error={jobs.error} />
        <JobTable jobs={jobs.data ?? []} selected={job} onSelect={(id) => { setJob(id === job ? undefined : id); setDatum(undefined); }} />
      </Section>
      {job !== undefined && (
        <Section title={`Datums of job ${short(job)}`}>
          <DatumTable session={session} pipeline={name} job={job} selected={datum} onSelect={(d) => setDatum(d === datum ? undefined : d)} />
        </Section>
      )}
      <Section title={`Logs${datum !== undefined ? ` of datum ${short(datum)}` : job !== undefined ? ` of job ${short(job)}` : ''}`} right={<span class="muted">following</span>}>
        <LogView session={session} pipeline={name} job={job} datum={datum} />
      </Section>
      <SpecSection session={session} name={name} version={props.version} />
    </>
  );
}

function JobTable(props: { jobs: JobInfo[]; selected: string | undefined; onSelect: (id: string) => void }) {
  const now = useNow(1000);
  if (props.jobs.length === 0) return <p class="muted">No jobs yet.</p>;
  return (
    <table id="jobs">
      <thead>
        <tr><th>job</th><th>state</th><th>created</th><th>duration</th><th>datums (processed+skipped+failed/total)</th><th>restarts</th><th>down / up</th><th>reason</th></tr>
      </thead>
      <tbody>
        {props.jobs.map((j) => (
          <tr key={j.id} data-job={j.id} data-state={j.state} class={j.id === props.selected ? 'sel' : ''} onClick={() => props.onSelect(j.id)}>
            <td class="mono" title={j.id}><a href="javascript:void 0">{short(j.id)}</a></td>
            <td><Badge state={j.state} /></td>
            <td>{ago(j.created, now)}</td>
            <td>{duration(j.started, j.finished, now)}</td>
            <td><Progress d={j.datums} /></td>
            <td>{j.restart}</td>
            <td>{bytes(j.bytesDownloaded)} / {bytes(j.bytesUploaded)}</td>
            <td class="desc">{j.reason}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DatumTable(props: { session: Session; pipeline: string; job: string; selected: string | undefined; onSelect: (id: string) => void }) {
  const datums = usePoll(() => props.session.client.listDatums(props.pipeline, props.job), 2000, [props.pipeline, props.job]);
  const list = [...(datums.data ?? [])].sort((a, b) => Number(b.state === 'failed') - Number(a.state === 'failed'));
  return (
    <>
      <ErrorBox error={datums.error} />
      {list.length === 0 ? (
        <p class="muted">No datums.</p>
      ) : (
        <table id="datums">
          <thead>
            <tr><th>datum</th><th>state</th><th>tries</th><th>inputs</th><th>reason</th></tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id} data-datum={d.id} data-state={d.state} class={d.id === props.selected ? 'sel' : ''} onClick={() => props.onSelect(d.id)}>
                <td class="mono" title={d.id}><a href="javascript:void 0">{short(d.id)}</a></td>
                <td><Badge state={d.state} /></td>
                <td>{d.tries}</td>
                <td class="mono">{d.inputs.map((i) => `${i.name}: ${i.repo}@${short(i.commit)}:${i.path}`).join(' ⨯ ')}</td>
                <td class="desc">{d.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function SpecSection(props: { session: Session; name: string; version: number | undefined }) {
  const { session, name } = props;
  const history = usePoll(() => session.client.pipelineHistory(name), 0, [name, props.version]);
  const [shown, setShown] = useState<number | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [err, setErr] = useState<Error | undefined>(undefined);
  const [note, setNote] = useState('');
  const versions = history.data ?? [];
  const current = versions.find((v) => v.version === (shown ?? props.version)) ?? versions[0];
  const owner = session.canOwn(name);
  return (
    <Section
      title="Spec"
      right={
        <span>
          versions:{' '}
          {versions.map((v) => (
            <button key={v.version} class={`link ${v.version === current?.version ? 'on' : ''}`} onClick={() => setShown(v.version)}>
              v{v.version}
            </button>
          ))}
        </span>
      }
    >
      <ErrorBox error={history.error} />
      {current !== undefined && editing === undefined && (
        <>
          <p class="muted">
            version {current.version} · created {time(current.updated)} · spec commit <span class="mono">{short(current.specCommit.id)}</span>
          </p>
          <pre class="spec" id="spec">{JSON.stringify(current.spec, null, 2)}</pre>
          {owner && (
            <button id="edit" onClick={() => { setEditing(JSON.stringify(editableSpec(current.spec), null, 2)); setNote(''); }}>update…</button>
          )}
        </>
      )}
      {editing !== undefined && (
        <div class="editor">
          <textarea id="spec-editor" spellcheck={false} value={editing} onInput={(e) => setEditing((e.target as HTMLTextAreaElement).value)} />
          <div class="actions">
            <button
              id="save"
              onClick={() => {
                setErr(undefined);
                session.client
                  .createPipeline(editing, { update: true, file: `${name}.json` })
                  .then((r) => {
                    setEditing(undefined);
                    setShown(undefined);
                    setNote(`updated to version ${r.pipelines[0]?.version ?? '?'}${r.warnings.length > 0 ? `; warnings: ${r.warnings.join('; ')}` : ''}`);
                    history.reload();
                  })
                  .catch((e: unknown) => setErr(e as Error));
              }}
            >
              update pipeline
            </button>
            <button class="link" onClick={() => setEditing(undefined)}>cancel</button>
          </div>
        </div>
      )}
      <ErrorBox error={err} />
      {note !== '' && <p class="ok">{note}</p>}
    </Section>
  );
}
