/**
 * Between Pachyderm's pps_v2 messages and Sluice's pipeline types (src/api/pps-types.ts).
 *
 * - A CreatePipelineRequest becomes the JSON spec text `create pipeline` reads (`requestSpec`):
 *   its fields are the spec's snake_case fields, minus what proto3 cannot tell from unset (empty
 *   strings, zeros, false, empty lists), with durations and timestamps written as a spec writes
 *   them. A set but empty message (`spout: {}`) stays: its presence is what it says.
 * - Sluice's normalized spec (lowerCamelCase) becomes `PipelineInfo.Details` (`specDetails`):
 *   field names turned to snake_case, durations and timestamps turned to messages, and only the
 *   fields the message has (the encoder ignores the rest).
 * - States map one to one where both sides have the state; Sluice's pending datum is
 *   Pachyderm's UNKNOWN ("not processed yet") and its running datum STARTING.
 */
import type { DatumInfo, DatumState, JobInfo, JobState, LogLine, PipelineInfo, PipelineState, PipelineType } from '../api/pps-types.js';
import { SluiceError } from '../errors/index.js';
import { checkProject, commitMsg, DEFAULT_PROJECT, timestamp, type CommitMsg, type ProjectMsg, type TimestampMsg } from './pfs-convert.js';

// ---- message shapes (LOADER_OPTIONS: unset messages are null) ----

export interface PipelineMsg {
  name: string;
  project: ProjectMsg | null;
}
export interface JobMsg {
  pipeline: PipelineMsg | null;
  id: string;
}
export interface DatumMsg {
  job: JobMsg | null;
  id: string;
}
export interface DurationMsg {
  seconds: number;
  nanos: number;
}

// ---- inbound ----

/** Sluice's name of a pipeline message; another project than "default" is not found. */
export function pipelineName(p: PipelineMsg | null | undefined, field = 'pipeline'): string {
  if (p === null || p === undefined || p.name === '') throw new SluiceError('INVALID_ARGUMENT', `${field}.name is required`, { details: { field } });
  checkProject(p.project);
  return p.name;
}

export function jobTarget(j: JobMsg | null | undefined, field = 'job'): { pipeline: string; id: string } {
  if (j === null || j === undefined) throw new SluiceError('INVALID_ARGUMENT', `${field} is required`, { details: { field } });
  const pipeline = pipelineName(j.pipeline, `${field}.pipeline`);
  if (j.id === '') throw new SluiceError('INVALID_ARGUMENT', `${field}.id is required`, { details: { field: `${field}.id` } });
  return { pipeline, id: j.id };
}

export function durationText(d: DurationMsg): string {
  const total = d.seconds + d.nanos / 1e9;
  return `${Number(total.toFixed(9))}s`;
}

export function durationMs(d: DurationMsg | null | undefined): number | undefined {
  if (d === null || d === undefined) return undefined;
  return d.seconds * 1000 + Math.floor(d.nanos / 1e6);
}

function timestampText(t: TimestampMsg): string {
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

const DURATION_FIELDS = new Set(['datum_timeout', 'job_timeout', 'maximum_expected_uptime']);
/** Request flags, not part of the stored spec; read by the handler. */
const REQUEST_FLAGS = new Set(['update', 'reprocess', 'dry_run', 'spec_commit']);

function isEmptyScalar(v: unknown): boolean {
  return v === null || v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
}

/** Drops proto3 defaults from a decoded message, recursively; keeps set messages, even empty ones. */
function pruneMessage(msg: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (isEmptyScalar(v)) continue;
    const here = path === '' ? k : `${path}.${k}`;
    if (DURATION_FIELDS.has(k) && typeof v === 'object') {
      out[k] = durationText(v as DurationMsg);
    } else if (k === 'start' && path.endsWith('cron') && typeof v === 'object') {
      out[k] = timestampText(v as TimestampMsg);
    } else if (k === 'toleration_seconds' && typeof v === 'object') {
      out[k] = (v as { value: number }).value;
    } else if (Array.isArray(v)) {
      out[k] = v.map((x) => (typeof x === 'object' && x !== null && !Buffer.isBuffer(x) ? pruneMessage(x as Record<string, unknown>, here) : x));
    } else if (typeof v === 'object' && !Buffer.isBuffer(v)) {
      out[k] = pruneMessage(v as Record<string, unknown>, here);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** Refuses a project other than "default" anywhere in an input tree; drops the "default" ones. */
function inputProjects(input: unknown): void {
  if (typeof input !== 'object' || input === null) return;
  const i = input as Record<string, unknown>;
  for (const leaf of ['pfs', 'cron'] as const) {
    const l = i[leaf] as Record<string, unknown> | undefined;
    if (l !== undefined && typeof l.project === 'string') {
      checkProject({ name: l.project });
      delete l.project;
    }
  }
  for (const many of ['cross', 'union', 'join', 'group'] as const) {
    const list = i[many];
    if (Array.isArray(list)) for (const c of list) inputProjects(c);
  }
}

export interface RequestFlags {
  update: boolean;
  reprocess: boolean;
  dryRun: boolean;
}

/**
 * The spec text (JSON) a CreatePipelineRequest stands for, and its request flags.
 * @example requestSpec({ pipeline: { name: 'edges', project: null }, transform: { cmd: ['sh'], … }, … })
 */
export function requestSpec(req: Record<string, unknown>): { text: string; flags: RequestFlags } {
  const pipeline = req.pipeline as PipelineMsg | null | undefined;
  const name = pipelineName(pipeline);
  const spec = pruneMessage(req, '');
  for (const f of REQUEST_FLAGS) delete spec[f];
  spec.pipeline = { name };
  inputProjects(spec.input);
  return {
    text: JSON.stringify(spec),
    flags: { update: req.update === true, reprocess: req.reprocess === true, dryRun: req.dry_run === true },
  };
}

// ---- outbound ----

const JOB_STATES: Readonly<Record<JobState, string>> = {
  created: 'JOB_CREATED',
  starting: 'JOB_STARTING',
  running: 'JOB_RUNNING',
  finishing: 'JOB_FINISHING',
  success: 'JOB_SUCCESS',
  failure: 'JOB_FAILURE',
  killed: 'JOB_KILLED',
};

const PIPELINE_STATES: Readonly<Record<PipelineState, string>> = {
  starting: 'PIPELINE_STARTING',
  running: 'PIPELINE_RUNNING',
  restarting: 'PIPELINE_RESTARTING',
  failure: 'PIPELINE_FAILURE',
  paused: 'PIPELINE_PAUSED',
  standby: 'PIPELINE_STANDBY',
  crashing: 'PIPELINE_CRASHING',
};

const PIPELINE_TYPES: Readonly<Record<PipelineType, string>> = {
  transform: 'PIPELINE_TYPE_TRANSFORM',
  spout: 'PIPELINE_TYPE_SPOUT',
  service: 'PIPELINE_TYPE_SERVICE',
};

export const DATUM_STATES: Readonly<Record<DatumState, string>> = {
  pending: 'UNKNOWN',
  running: 'STARTING',
  success: 'SUCCESS',
  failed: 'FAILED',
  skipped: 'SKIPPED',
};

export function jobStateEnum(s: JobState): string {
  return JOB_STATES[s];
}

export function pipelineMsg(name: string): PipelineMsg {
  return { name, project: { name: DEFAULT_PROJECT } };
}

export function jobMsg(pipeline: string, id: string): JobMsg {
  return { pipeline: pipelineMsg(pipeline), id };
}

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A spec value with its object keys in snake_case (maps such as `env` keep their keys). */
function snakeKeys(v: unknown, keepKeys = false): unknown {
  if (Array.isArray(v)) return v.map((x) => snakeKeys(x));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const map = k === 'env' || k === 'nodeSelector' || k === 'annotations' || k === 'labels';
    out[keepKeys ? k : snake(k)] = map ? snakeKeys(x, true) : keepKeys ? x : snakeKeys(x);
  }
  return out;
}

function durationMsg(text: unknown): DurationMsg | null {
  if (typeof text !== 'string' || text === '') return null;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(text.trim());
  if (m === null) return null;
  const total = Number(m[1]);
  const seconds = Math.trunc(total);
  return { seconds, nanos: Math.round((total - seconds) * 1e9) };
}

/** Cron inputs carry `start` as RFC 3339 text in the spec, a Timestamp on the wire. */
function inputMsg(input: unknown): unknown {
  if (typeof input !== 'object' || input === null) return null;
  const i = snakeKeys(input) as Record<string, unknown>;
  const fix = (node: Record<string, unknown>): void => {
    const cron = node.cron as Record<string, unknown> | undefined;
    if (cron !== undefined) {
      const t = typeof cron.start === 'string' && cron.start !== '' ? Date.parse(cron.start) : NaN;
      cron.start = Number.isNaN(t) ? null : timestamp(t);
    }
    delete node.git;
    for (const many of ['cross', 'union', 'join', 'group']) {
      const list = node[many];
      if (Array.isArray(list)) for (const c of list) if (typeof c === 'object' && c !== null) fix(c as Record<string, unknown>);
    }
  };
  fix(i);
  return i;
}

function tolerationMsgs(list: unknown): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.filter((t): t is Record<string, unknown> => typeof t === 'object' && t !== null && !Array.isArray(t)).map((t) => ({
    key: typeof t.key === 'string' ? t.key : '',
    operator: typeof t.operator === 'string' ? t.operator.toUpperCase() : 'EMPTY',
    value: typeof t.value === 'string' ? t.value : '',
    effect: typeof t.effect === 'string' ? t.effect.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : 'ALL_EFFECTS',
    toleration_seconds: typeof t.tolerationSeconds === 'number' ? { value: t.tolerationSeconds } : null,
  }));
}

/** `PipelineInfo.Details` from Sluice's normalized spec. */
export function specDetails(info: PipelineInfo): Record<string, unknown> {
  const s = info.spec;
  const egress = s.egress as { url?: string } | undefined;
  const msg = (k: string): unknown => (s[k] === undefined || s[k] === null ? null : snakeKeys(s[k]));
  return {
    transform: msg('transform'),
    tf_job: null,
    parallelism_spec: msg('parallelismSpec'),
    egress: egress === undefined ? null : { URL: egress.url ?? '' },
    created_at: timestamp(info.created),
    recent_error: info.reason,
    workers_requested: info.parallelism,
    workers_available: info.workersRunning,
    output_branch: info.outputBranch,
    resource_requests: msg('resourceRequests'),
    resource_limits: msg('resourceLimits'),
    sidecar_resource_limits: msg('sidecarResourceLimits'),
    input: inputMsg(s.input),
    description: info.description,
    salt: typeof s.salt === 'string' ? s.salt : '',
    reason: info.reason,
    service: msg('service'),
    spout: s.spout === undefined ? null : { service: s.spout === null ? null : snakeKeys((s.spout as { service?: unknown }).service ?? null) },
    datum_set_spec: msg('datumSetSpec'),
    datum_timeout: durationMsg(s.datumTimeout),
    job_timeout: durationMsg(s.jobTimeout),
    datum_tries: typeof s.datumTries === 'number' ? s.datumTries : 0,
    scheduling_spec: msg('schedulingSpec'),
    pod_spec: typeof s.podSpec === 'string' ? s.podSpec : '',
    pod_patch: typeof s.podPatch === 'string' ? s.podPatch : '',
    s3_out: s.s3Out === true,
    metadata: msg('metadata'),
    reprocess_spec: typeof s.reprocessSpec === 'string' ? s.reprocessSpec : '',
    unclaimed_tasks: 0,
    worker_rc: '',
    autoscaling: s.autoscaling === true,
    tolerations: tolerationMsgs(s.tolerations),
    sidecar_resource_requests: msg('sidecarResourceRequests'),
    determined: msg('determined'),
  };
}

export function pipelineInfoMsg(info: PipelineInfo, details: boolean): Record<string, unknown> {
  return {
    pipeline: pipelineMsg(info.name),
    version: info.version,
    spec_commit: commitMsg(info.specCommit.repo, info.specCommit.id),
    stopped: info.stopped,
    state: PIPELINE_STATES[info.state],
    reason: info.reason,
    last_job_state: info.lastJobState === null ? 'JOB_STATE_UNKNOWN' : JOB_STATES[info.lastJobState],
    parallelism: info.parallelism,
    type: PIPELINE_TYPES[info.type],
    // Never handed out: the pipeline's token is its workers' alone.
    auth_token: '',
    details: details ? specDetails(info) : null,
    details_json: '',
  };
}

/** `JobInfo`; `details` is the pipeline version's details when asked for. */
export function jobInfoMsg(j: JobInfo, details: Record<string, unknown> | null): Record<string, unknown> {
  const output: CommitMsg | null = j.outputCommit === null ? null : commitMsg(j.outputCommit.repo, j.outputCommit.id);
  return {
    job: jobMsg(j.pipeline, j.id),
    pipeline_version: j.pipelineVersion,
    output_commit: output,
    restart: j.restart,
    data_processed: j.datums.processed,
    data_skipped: j.datums.skipped,
    data_total: j.datums.total,
    data_failed: j.datums.failed,
    data_recovered: j.datums.recovered,
    stats: { download_time: null, process_time: null, upload_time: null, download_bytes: j.bytesDownloaded, upload_bytes: j.bytesUploaded },
    state: JOB_STATES[j.state],
    reason: j.reason,
    created: timestamp(j.created),
    started: timestamp(j.started),
    finished: timestamp(j.finished),
    details: details === null ? null : jobDetails(details),
    auth_token: '',
  };
}

/** JobInfo.Details holds a subset of PipelineInfo.Details under other numbers (same names). */
function jobDetails(d: Record<string, unknown>): Record<string, unknown> {
  const keys = [
    'transform', 'parallelism_spec', 'egress', 'service', 'spout', 'resource_requests', 'resource_limits', 'sidecar_resource_limits', 'input',
    'salt', 'datum_set_spec', 'datum_timeout', 'job_timeout', 'datum_tries', 'scheduling_spec', 'pod_spec', 'pod_patch', 'sidecar_resource_requests',
  ];
  const out: Record<string, unknown> = { worker_status: [] };
  for (const k of keys) out[k] = d[k] ?? null;
  return out;
}

export function datumInfoMsg(pipeline: string, d: DatumInfo): Record<string, unknown> {
  return {
    datum: { job: jobMsg(pipeline, d.job), id: d.id },
    state: DATUM_STATES[d.state],
    stats: null,
    pfs_state: null,
    data: d.inputs.map((i) => ({
      file: { commit: commitMsg(i.repo, i.commit), path: i.path, datum: '' },
      file_type: i.type === 'dir' ? 'DIR' : 'FILE',
      committed: null,
      size_bytes: 0,
      hash: Buffer.alloc(0),
    })),
    image_id: '',
  };
}

export function logMessage(l: LogLine): Record<string, unknown> {
  return {
    project_name: DEFAULT_PROJECT,
    pipeline_name: l.pipeline,
    job_id: l.job ?? '',
    worker_id: l.worker ?? '',
    datum_id: l.datum ?? '',
    master: false,
    data: [],
    user: l.stream !== 'system',
    ts: timestamp(l.ts),
    message: l.message,
  };
}
