/**
 * pachctl 2.x's table headers, rows and inspect blocks for repos, branches, commits and files
 * (its `pfs/pretty` package) and for pipelines, jobs, datums and logs (`pps/pretty`), built on
 * output.ts. One place, so `list commit` and `subscribe commit` print the same rows.
 */
import type { BranchInfo, CommitInfo, DatumInfo, FileInfo, JobInfo, LogLine, PipelineInfo, RepoInfo } from '../client/index.js';
import { detailBlock, humanDuration, humanSize, relativeTime } from './output.js';

export const REPO_HEADER = ['NAME', 'CREATED', 'SIZE (MASTER)', 'DESCRIPTION'] as const;
export const BRANCH_HEADER = ['BRANCH', 'HEAD', 'TRIGGER'] as const;
export const COMMIT_HEADER = ['REPO', 'BRANCH', 'COMMIT', 'FINISHED', 'SIZE', 'ORIGIN', 'DESCRIPTION'] as const;
export const FILE_HEADER = ['NAME', 'TYPE', 'SIZE'] as const;

/** System repos print as `name.spec` / `name.meta`, as pachctl's CompactPrintRepo. */
export function repoDisplayName(r: Pick<RepoInfo, 'name' | 'type'>): string {
  return r.type === 'user' || r.name.endsWith(`.${r.type}`) ? r.name : `${r.name}.${r.type}`;
}

export function repoRow(r: RepoInfo, now: number): string[] {
  return [repoDisplayName(r), relativeTime(r.created, now), humanSize(r.sizeBytes), r.description];
}

export function repoDetail(r: RepoInfo, now: number): string {
  return detailBlock([
    ['Name', repoDisplayName(r)],
    ['Description', r.description === '' ? undefined : r.description],
    ['Created', relativeTime(r.created, now)],
    ['Size of HEAD on master', humanSize(r.sizeBytes)],
  ]);
}

export function branchRow(b: BranchInfo): string[] {
  return [b.name, b.head ?? '-', b.trigger ?? '-'];
}

export function branchDetail(b: BranchInfo): string {
  return detailBlock([
    ['Name', `${b.repo}@${b.name}`],
    ['Head Commit', b.head === null ? undefined : `${b.repo}@${b.head}`],
    ['Provenance', b.provenance.length === 0 ? undefined : b.provenance.map((p) => `${p.repo}@${p.branch}`).join(' ')],
    ['Subvenance', b.subvenance.length === 0 ? undefined : b.subvenance.map((p) => `${p.repo}@${p.branch}`).join(' ')],
    ['Trigger', b.trigger ?? undefined],
  ]);
}

/** A `list commit` row: FINISHED and SIZE are `-` while the commit is open. */
export function commitRow(c: CommitInfo, now: number): string[] {
  const open = c.finished === null;
  return [c.repo, c.branch, c.id, open ? '-' : relativeTime(c.finished ?? 0, now), open ? '-' : humanSize(c.sizeBytes), c.origin, c.description];
}

export function commitDetail(c: CommitInfo, now: number): string {
  return detailBlock([
    ['Commit', `${c.repo}@${c.id}`],
    ['Original Branch', c.branch],
    ['Description', c.description === '' ? undefined : c.description],
    ['Parent', c.parent ?? undefined],
    ['Started', relativeTime(c.started, now)],
    ['Finished', c.finished === null ? undefined : relativeTime(c.finished, now)],
    ['Size', humanSize(c.sizeBytes)],
    ['Provenance', c.provenance.length === 0 ? undefined : c.provenance.map((p) => `${p.repo}@${p.id}`).join(' ')],
  ]);
}

/** Directories end with `/`, as pachctl 2.x prints them. */
export function displayPath(f: Pick<FileInfo, 'path' | 'type'>): string {
  return f.type === 'dir' && !f.path.endsWith('/') ? `${f.path}/` : f.path;
}

export function fileRow(f: FileInfo): string[] {
  return [displayPath(f), f.type, humanSize(f.sizeBytes)];
}

export function fileDetail(f: FileInfo): string {
  return detailBlock([
    ['Path', displayPath(f)],
    ['Type', f.type],
    ['Size', humanSize(f.sizeBytes)],
  ]);
}

// ---- pipelines, jobs, datums, logs (pachctl 2.x `src/server/pps/pretty/pretty.go`) ----

export const PIPELINE_HEADER = ['NAME', 'VERSION', 'INPUT', 'CREATED', 'STATE / LAST JOB', 'DESCRIPTION'] as const;
export const JOB_HEADER = ['PIPELINE', 'ID', 'STARTED', 'DURATION', 'RESTART', 'PROGRESS', 'DL', 'UL', 'STATE'] as const;
export const DATUM_HEADER = ['ID', 'FILES', 'STATUS', 'TIME'] as const;

/** pachctl's `jobReasonLen`: a failed job's STATE shows this much of its reason. */
const JOB_REASON_LEN = 25;

/**
 * A JSON value without its zero-valued fields (`''`, `0`, `false`, `[]`, and `{}` below the top
 * level), as pachctl prints protobuf messages (Go's `omitempty`). Empty objects directly under
 * the top are kept: in a normalized spec an empty message there (`spout: {}`) means something.
 */
export function compactJson(value: unknown, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((v) => compactJson(v, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === '' || v === 0 || v === false || v === null) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    const c = compactJson(v, depth + 1);
    if (depth > 0 && typeof c === 'object' && c !== null && !Array.isArray(c) && Object.keys(c).length === 0) continue;
    out[k] = c;
  }
  return out;
}

/**
 * `key: value` lines (`key:` alone for an empty value). A value that ends with a newline is a
 * block (JSON) and starts on the line after its key, as pachctl prints `Input:`; other values stay
 * on the key's line even when they span lines (a reason with stderr lines).
 */
function block(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  return fields
    .filter((f): f is readonly [string, string] => f[1] !== undefined)
    .map(([k, v]) => (v === '' ? `${k}:\n` : v.endsWith('\n') ? `${k}:\n${v}` : `${k}: ${v}\n`))
    .join('');
}

/** `constant:N` (Go's text form of `ParallelismSpec`); the worker count when the spec has none. */
function parallelismText(p: PipelineInfo): string {
  const spec = p.spec.parallelismSpec;
  if (typeof spec !== 'object' || spec === null) return `constant:${p.parallelism}`;
  const parts = Object.entries(spec as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'number' && v !== 0)
    .map(([k, v]) => `${k}:${String(v)}`);
  return parts.length > 0 ? parts.join(' ') : `constant:${p.parallelism}`;
}

/** `running / success`; `-` after the slash while the pipeline has had no job. */
export function pipelineStateText(p: PipelineInfo): string {
  return `${p.state} / ${p.lastJobState ?? '-'}`;
}

/**
 * A `list pipeline` row. CREATED is when this version was created (pachctl sets `CreatedAt` on
 * every create and update), so `--history` rows differ.
 */
export function pipelineRow(p: PipelineInfo, now: number): string[] {
  return [p.name, String(p.version), p.input, relativeTime(p.updated, now), pipelineStateText(p), p.description];
}

export function pipelineDetail(p: PipelineInfo, now: number): string {
  const c = p.jobCounts;
  const counts: Array<[string, number]> = [
    ['created', c.created], ['starting', c.starting], ['running', c.running], ['failure', c.failure],
    ['success', c.success], ['killed', c.killed], ['finishing', c.finishing],
  ];
  const input = p.spec.input;
  return block([
    ['Name', p.name],
    ['Description', p.description === '' ? undefined : p.description],
    ['Created', relativeTime(p.updated, now)],
    ['State', p.state],
    ['Reason', p.reason],
    ['Workers Available', `${p.workersRunning}/${p.parallelism}`],
    ['Stopped', String(p.stopped)],
    ['Parallelism Spec', parallelismText(p)],
    ['Input', input === undefined ? '' : JSON.stringify(compactJson(input, 1), null, 2) + '\n'],
    ['Output Branch', p.outputBranch],
    ['Transform', JSON.stringify(compactJson(p.spec.transform ?? {}, 1), null, 2) + '\n'],
    ['Connector', spoutConnector(p) === undefined ? undefined : JSON.stringify(compactJson(spoutConnector(p), 1), null, 2) + '\n'],
    ['Job Counts', counts.map(([k, n]) => `${k}: ${n}`).join('\t') + '\n'],
    ['Spec Commit', `${p.specCommit.repo}@${p.specCommit.id}`],
    ['Version', String(p.version)],
  ]);
}

/** A connector spout's `spout.connector` and `spout.batch`, or undefined. */
function spoutConnector(p: PipelineInfo): unknown {
  const spout = p.spec.spout as { connector?: unknown; batch?: unknown } | undefined;
  return spout?.connector === undefined ? undefined : { ...(spout.connector as object), batch: spout.batch };
}

/** `processed + skipped / total`, with `+ recovered` when there are any (pachctl's `Progress`). */
export function jobProgress(j: JobInfo): string {
  const d = j.datums;
  return d.recovered !== 0 ? `${d.processed} + ${d.skipped} + ${d.recovered} / ${d.total}` : `${d.processed} + ${d.skipped} / ${d.total}`;
}

/** pachctl's `safeTrim`: reasons longer than the column allows end with `...`. */
function trimReason(reason: string): string {
  const flat = reason.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= JOB_REASON_LEN ? flat : `${chars.slice(0, JOB_REASON_LEN).join('').trimEnd()}...`;
}

/** A job's STATE cell: `failure: <reason, trimmed>` for a failed job, the state otherwise. */
export function jobStateText(j: JobInfo): string {
  return j.state === 'failure' && j.reason !== '' ? `${j.state}: ${trimReason(j.reason)}` : j.state;
}

/** A job's run time (`3 seconds`), `-` until it has both started and finished. */
export function jobDuration(j: JobInfo): string {
  return j.started !== null && j.finished !== null ? humanDuration(Math.max(0, j.finished - j.started)) : '-';
}

export function jobRow(j: JobInfo, now: number): string[] {
  return [
    j.pipeline,
    j.id,
    j.started === null ? '-' : relativeTime(j.started, now),
    jobDuration(j),
    String(j.restart),
    jobProgress(j),
    humanSize(j.bytesDownloaded),
    humanSize(j.bytesUploaded),
    jobStateText(j),
  ];
}

export function jobDetail(j: JobInfo, now: number): string {
  return block([
    ['ID', j.id],
    ['Pipeline', j.pipeline],
    ['Pipeline Version', String(j.pipelineVersion)],
    ['Created', relativeTime(j.created, now)],
    ['Started', j.started === null ? undefined : relativeTime(j.started, now)],
    ['Duration', j.started !== null && j.finished !== null ? jobDuration(j) : undefined],
    ['State', j.state],
    ['Reason', j.reason],
    ['Progress', jobProgress(j)],
    ['Datums', `${j.datums.total} total, ${j.datums.processed} processed, ${j.datums.skipped} skipped, ${j.datums.failed} failed, ${j.datums.recovered} recovered`],
    ['Data Downloaded', humanSize(j.bytesDownloaded)],
    ['Data Uploaded', humanSize(j.bytesUploaded)],
    ['Restarts', String(j.restart)],
    ['Input Commits', j.inputs.length === 0 ? undefined : j.inputs.map((c) => `${c.repo}@${c.id}`).join(' ')],
    ['Output Commit', j.outputCommit === null ? undefined : `${j.outputCommit.repo}@${j.outputCommit.id}`],
  ]);
}

/** A `list datum` row: FILES as `repo@commit:path`, joined with `, `; TIME is not recorded (`-`). */
export function datumRow(d: DatumInfo): string[] {
  // A datum of no job (`list datum -f`) has no state yet: '-', as pachctl prints it.
  return [d.id === '' ? '-' : d.id, d.inputs.map((i) => `${i.repo}@${i.commit}:${i.path}`).join(', '), d.job === '' ? '-' : d.state, '-'];
}

/** One log line as `logs` prints it: the message alone, one per line. */
export function logText(l: LogLine): string {
  return l.message.replace(/\r?\n$/, '') + '\n';
}
