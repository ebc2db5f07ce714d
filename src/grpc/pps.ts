/**
 * pps_v2.API over Sluice's pps layer: the same `PipelineService`, `JobService` and `LogService`
 * calls the HTTP routes make (src/server/routes/pps.ts), each method guarded by the HTTP route
 * whose rule it shares (route-table.ts). Message conversions live in pps-convert.ts.
 *
 * - CreatePipeline turns the request into the JSON spec `create pipeline` reads, so a spec sent
 *   over gRPC is parsed, defaulted, validated and authorized exactly as one sent over HTTP (the
 *   route's `pipelineSpec` check reads that text). CreatePipelineV2 (pachyderm-sdk) carries the
 *   JSON text itself. `dry_run` validates and creates nothing.
 * - Streams (ListPipeline, ListJob, ListJobSet, InspectJobSet, ListDatum, GetLogs) are server
 *   streams; GetLogs with `follow` runs until the client cancels.
 * - What Sluice cannot answer truthfully is refused, not approximated: `jqFilter`, ListPipeline
 *   at a commit set, ListDatum of an input without a job, `tail` together with `follow`.
 *
 * Also here: `spoutCommitProvenance`, which pfs_v2's StartCommit and ModifyFile use so that a
 * spout's own commits made with Pachyderm's clients carry provenance on the spout's spec commit,
 * as `put file` inside a spout gives them (issue 5).
 */
import type { CommitRef } from '../api/types.js';
import { API_PREFIX } from '../api/types.js';
import type { JobInfo, PipelineInfo } from '../api/pps-types.js';
import { pipelineOf, type Caller } from '../auth/index.js';
import { SluiceError, isSluiceError } from '../errors/index.js';
import type { Pps } from '../pps/index.js';
import { applyDefaults, parseSpecs, validateParsedSpec } from '../pps/spec/index.js';
import { checkProject, commitTarget, type CommitMsg, type ProjectMsg, type TimestampMsg } from './pfs-convert.js';
import {
  datumInfoMsg, DATUM_STATES, durationMs, jobInfoMsg, jobTarget, logMessage, pipelineInfoMsg, pipelineMsg, pipelineName, requestSpec, specDetails,
  type DatumMsg, type DurationMsg, type JobMsg, type PipelineMsg,
} from './pps-convert.js';
import type { GrpcDeps, GrpcRegistry, RouteView } from './registry.js';

const P = API_PREFIX;

type Empty = Record<string, never>;
const EMPTY: Empty = {};

// ---- request shapes ----
interface InspectJobReq { job: JobMsg | null; wait: boolean; details: boolean }
interface InspectJobSetReq { job_set: { id: string } | null; wait: boolean; details: boolean }
interface ListJobReq {
  pipeline: PipelineMsg | null; input_commit: CommitMsg[]; history: number; details: boolean; jqFilter: string;
  projects: ProjectMsg[]; paginationMarker: TimestampMsg | null; number: number; reverse: boolean;
}
interface ListJobSetReq { details: boolean; projects: ProjectMsg[]; paginationMarker: TimestampMsg | null; number: number; reverse: boolean; jqFilter: string }
interface StopJobReq { job: JobMsg | null; reason: string }
interface InspectDatumReq { datum: DatumMsg | null }
interface ListDatumReq { job: JobMsg | null; input: unknown; filter: { state: string[] } | null; paginationMarker: string; number: number; reverse: boolean }
interface CreatePipelineV2Req { create_pipeline_request_json: string; dry_run: boolean; update: boolean; reprocess: boolean }
interface InspectPipelineReq { pipeline: PipelineMsg | null; details: boolean }
interface ListPipelineReq { pipeline: PipelineMsg | null; history: number; details: boolean; jqFilter: string; commit_set: { id: string } | null; projects: ProjectMsg[] }
interface DeletePipelineReq { pipeline: PipelineMsg | null; all: boolean; force: boolean; keep_repo: boolean; must_exist: boolean }
interface DeletePipelinesReq { projects: ProjectMsg[]; force: boolean; keep_repo: boolean; all: boolean }
interface PipelineReq { pipeline: PipelineMsg | null; must_exist?: boolean }
interface GetLogsReq {
  pipeline: PipelineMsg | null; job: JobMsg | null; data_filters: string[]; datum: DatumMsg | null; master: boolean; follow: boolean;
  tail: number; use_loki_backend: boolean; since: DurationMsg | null;
}

// ---- guards ----
const pipelineView = (route: string, name: string): RouteView => ({ route: route as RouteView['route'], params: { name } });
const jobView = (route: string, t: { pipeline: string; id: string }): RouteView => ({ route: route as RouteView['route'], params: { name: t.pipeline, id: t.id } });
const LIST_JOBS: RouteView = { route: `GET ${P}/jobs` };

function refuseJq(jq: string): void {
  if (jq !== '') throw new SluiceError('NOT_IMPLEMENTED', 'jqFilter is not served by Sluice: filter the results on the client', { details: { field: 'jqFilter' } });
}

function markerMs(t: TimestampMsg | null): number | undefined {
  return t === null ? undefined : t.seconds * 1000 + Math.floor(t.nanos / 1e6);
}

/**
 * The provenance a commit the caller starts on `repo` gets: the spout's spec commit when the
 * caller is that spout's own pipeline token writing its own repo; none otherwise.
 */
export async function spoutCommitProvenance(pps: Pps | undefined, caller: Caller, repo: string): Promise<CommitRef[]> {
  if (pps === undefined || caller.kind !== 'principal') return [];
  const pipeline = pipelineOf(caller.principal);
  if (pipeline === undefined || pipeline !== repo) return [];
  const row = await pps.pipelines.row(pipeline);
  if (row === undefined) return [];
  const spec = JSON.parse(row.spec) as { spout?: unknown };
  if (spec.spout === undefined || spec.spout === null) return [];
  return [pps.pipelines.specCommitOf(row)];
}

export function registerPps(registry: GrpcRegistry, deps: GrpcDeps): void {
  const pps = deps.pps;
  const s = registry.service('pps_v2/pps.proto', 'pps_v2.API');
  if (pps === undefined) return; // every method answers UNIMPLEMENTED: this daemon runs no pipelines
  const { pipelines, jobs, logs } = pps;

  const detailsOf = async (j: JobInfo, want: boolean): Promise<Record<string, unknown> | null> => {
    if (!want) return null;
    const info = await pipelines.inspect(j.pipeline);
    if (info.version === j.pipelineVersion) return specDetails(info);
    const history = await pipelines.history(j.pipeline);
    const v = history.find((h) => h.version === j.pipelineVersion);
    return v === undefined ? null : specDetails(v);
  };

  /** Jobs of the versions `history` asks for (0: current, -1: all, n: current and n before). */
  const versionFilter = async (name: string, history: number): Promise<(j: JobInfo) => boolean> => {
    if (history < 0) return () => true;
    const current = (await pipelines.inspect(name)).version;
    return (j) => j.pipelineVersion >= current - history;
  };

  /**
   * Whether a job ran on every commit named: its input commits, or (as in Pachyderm, where the
   * spec commit is provenance of the output) the spec commit of its pipeline version.
   */
  const hasInputs = async (j: JobInfo, wanted: Array<{ repo: string; ref: string }>, specCommits: Map<string, Map<number, string>>): Promise<boolean> => {
    for (const w of wanted) {
      if (j.inputs.some((c) => c.repo === w.repo && c.id === w.ref)) continue;
      if (w.repo !== `${j.pipeline}.spec`) return false;
      let byVersion = specCommits.get(j.pipeline);
      if (byVersion === undefined) {
        byVersion = new Map((await pipelines.history(j.pipeline)).map((v) => [v.version, v.specCommit.id]));
        specCommits.set(j.pipeline, byVersion);
      }
      if (byVersion.get(j.pipelineVersion) !== w.ref) return false;
    }
    return true;
  };

  // ---- pipelines ----
  const createFromText = async (text: string, flags: { update: boolean; reprocess: boolean; dryRun: boolean }, file: string): Promise<PipelineInfo[]> => {
    if (flags.dryRun) {
      const parsed = parseSpecs(text, { file });
      if (parsed.length === 0) throw new SluiceError('PPS_SPEC_INVALID', `${file}: no pipeline spec found`);
      for (const p of parsed) validateParsedSpec({ ...p, spec: applyDefaults(p.spec, { now: new Date(pps.ctx.now()) }) });
      return [];
    }
    return (await pipelines.createPipelines(text, { file, update: flags.update, reprocess: flags.reprocess })).pipelines;
  };
  const createView = (text: string, file: string): RouteView => ({ route: `POST ${P}/pipelines`, body: { spec: text, file } });
  // The guard and the handler both need the spec text; build it once per request.
  const specs = new WeakMap<object, ReturnType<typeof requestSpec>>();
  const specOf = (r: Record<string, unknown>): ReturnType<typeof requestSpec> => {
    let v = specs.get(r);
    if (v === undefined) {
      v = requestSpec(r);
      specs.set(r, v);
    }
    return v;
  };
  s.unary<Record<string, unknown>, Empty>('CreatePipeline', (r) => createView(specOf(r).text, 'CreatePipelineRequest'), async (r) => {
    const { text, flags } = specOf(r);
    await createFromText(text, flags, 'CreatePipelineRequest');
    return EMPTY;
  });
  s.unary<CreatePipelineV2Req, unknown>('CreatePipelineV2', (r) => createView(r.create_pipeline_request_json, 'create_pipeline_request_json'), async (r) => {
    const created = await createFromText(r.create_pipeline_request_json, { update: r.update, reprocess: r.reprocess, dryRun: r.dry_run }, 'create_pipeline_request_json');
    const [first] = created;
    return { effective_create_pipeline_request_json: first === undefined ? r.create_pipeline_request_json : JSON.stringify(first.spec) };
  });
  s.unary<InspectPipelineReq, unknown>('InspectPipeline', (r) => pipelineView(`GET ${P}/pipelines/:name`, pipelineName(r.pipeline)), async (r) =>
    pipelineInfoMsg(await pipelines.inspect(pipelineName(r.pipeline)), true));
  s.serverStream<ListPipelineReq, unknown>('ListPipeline', (r) => (r.pipeline !== null && r.pipeline.name !== '' ? pipelineView(`GET ${P}/pipelines/:name/versions`, pipelineName(r.pipeline)) : { route: `GET ${P}/pipelines` }), (r) => {
    refuseJq(r.jqFilter);
    if (r.commit_set !== null && r.commit_set.id !== '') throw new SluiceError('NOT_IMPLEMENTED', 'ListPipeline at a commit set is not served by Sluice', { details: { field: 'commit_set' } });
    for (const p of r.projects) checkProject(p);
    const one = r.pipeline !== null && r.pipeline.name !== '' ? pipelineName(r.pipeline) : undefined;
    const versionsOf = async (name: string): Promise<PipelineInfo[]> => {
      if (r.history === 0) return [await pipelines.inspect(name)];
      const all = await pipelines.history(name);
      return r.history < 0 ? all : all.slice(0, r.history + 1);
    };
    return (async function* () {
      const names = one !== undefined ? [one] : (await pipelines.list()).map((p) => p.name);
      // Python clients ask with details=false and then read details.input; always send them.
      for (const n of names) for (const v of await versionsOf(n)) yield pipelineInfoMsg(v, true);
    })();
  });
  s.unary<DeletePipelineReq, Empty>('DeletePipeline', (r) => (r.all ? { route: `DELETE ${P}/pipelines` } : pipelineView(`DELETE ${P}/pipelines/:name`, pipelineName(r.pipeline))), async (r) => {
    if (r.all) {
      await pipelines.deleteAll({ keepRepo: r.keep_repo });
      return EMPTY;
    }
    try {
      await pipelines.delete(pipelineName(r.pipeline), { keepRepo: r.keep_repo, force: r.force });
    } catch (err) {
      // Pachyderm: deleting a pipeline that is not there is not an error unless must_exist.
      if (r.must_exist || !isSluiceError(err, 'PPS_PIPELINE_NOT_FOUND')) throw err;
    }
    return EMPTY;
  });
  s.unary<DeletePipelinesReq, unknown>('DeletePipelines', () => ({ route: `DELETE ${P}/pipelines` }), async (r) => {
    for (const p of r.projects) checkProject(p);
    if (!r.all && r.projects.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'DeletePipelines needs all=true or a project', { details: { field: 'all' } });
    const names = (await pipelines.list()).map((p) => p.name);
    await pipelines.deleteAll({ keepRepo: r.keep_repo });
    return { pipelines: names.map(pipelineMsg) };
  });
  s.unary<PipelineReq, Empty>('StartPipeline', (r) => pipelineView(`POST ${P}/pipelines/:name/start`, pipelineName(r.pipeline)), async (r) => {
    await pipelines.start(pipelineName(r.pipeline));
    return EMPTY;
  });
  s.unary<PipelineReq, Empty>('StopPipeline', (r) => pipelineView(`POST ${P}/pipelines/:name/stop`, pipelineName(r.pipeline)), async (r) => {
    await pipelines.stop(pipelineName(r.pipeline));
    return EMPTY;
  });
  s.unary<Empty, Empty>('DeleteAll', () => ({ route: `DELETE ${P}/pipelines` }), async () => {
    await pipelines.deleteAll();
    return EMPTY;
  });

  // ---- jobs ----
  s.unary<InspectJobReq, unknown>('InspectJob', (r) => jobView(`GET ${P}/pipelines/:name/jobs/:id`, jobTarget(r.job)), async (r, ctx) => {
    const t = jobTarget(r.job);
    const j = r.wait ? await jobs.wait(t.pipeline, t.id, ctx.signal) : await jobs.inspect(t.pipeline, t.id);
    return jobInfoMsg(j, await detailsOf(j, r.details));
  });
  const jobSetId = (r: InspectJobSetReq): string => {
    const id = r.job_set?.id ?? '';
    if (id === '') throw new SluiceError('INVALID_ARGUMENT', 'job_set.id is required', { details: { field: 'job_set.id' } });
    return id;
  };
  s.serverStream<InspectJobSetReq, unknown>('InspectJobSet', (r) => {
    jobSetId(r);
    return LIST_JOBS;
  }, (r, ctx) => (async function* () {
    const id = jobSetId(r);
    // Oldest pipeline first, as upstream jobs come before downstream ones.
    const set = (await jobs.list()).filter((j) => j.id === id).reverse();
    for (const j of set) {
      const info = r.wait ? await jobs.wait(j.pipeline, j.id, ctx.signal) : j;
      yield jobInfoMsg(info, await detailsOf(info, r.details));
    }
  })());
  s.serverStream<ListJobReq, unknown>('ListJob', (r) => (r.pipeline !== null && r.pipeline.name !== '' ? { ...LIST_JOBS, query: { pipeline: pipelineName(r.pipeline) } } : LIST_JOBS), (r) => {
    refuseJq(r.jqFilter);
    for (const p of r.projects) checkProject(p);
    const one = r.pipeline !== null && r.pipeline.name !== '' ? pipelineName(r.pipeline) : undefined;
    const inputs = r.input_commit.map((c) => commitTarget(c, 'input_commit'));
    const marker = markerMs(r.paginationMarker);
    return (async function* () {
      let list = await jobs.list(one !== undefined ? { pipeline: one } : {});
      const filters = new Map<string, (j: JobInfo) => boolean>();
      const specCommits = new Map<string, Map<number, string>>();
      const kept: JobInfo[] = [];
      for (const j of list) {
        let f = filters.get(j.pipeline);
        if (f === undefined) {
          f = await versionFilter(j.pipeline, r.history);
          filters.set(j.pipeline, f);
        }
        if (!f(j)) continue;
        if (inputs.length > 0 && !(await hasInputs(j, inputs, specCommits))) continue;
        if (marker !== undefined && (r.reverse ? j.created <= marker : j.created >= marker)) continue;
        kept.push(j);
      }
      list = r.reverse ? kept.reverse() : kept;
      if (r.number > 0) list = list.slice(0, r.number);
      for (const j of list) yield jobInfoMsg(j, await detailsOf(j, r.details || inputs.length > 0));
    })();
  });
  s.serverStream<ListJobSetReq, unknown>('ListJobSet', () => LIST_JOBS, (r) => {
    refuseJq(r.jqFilter);
    for (const p of r.projects) checkProject(p);
    const marker = markerMs(r.paginationMarker);
    return (async function* () {
      // Newest set first; each set's jobs oldest pipeline first.
      const sets = new Map<string, JobInfo[]>();
      for (const j of await jobs.list()) {
        if (marker !== undefined && (r.reverse ? j.created <= marker : j.created >= marker)) continue;
        const list = sets.get(j.id) ?? [];
        list.unshift(j);
        sets.set(j.id, list);
      }
      let ordered = [...sets.entries()];
      if (r.reverse) ordered = ordered.reverse();
      if (r.number > 0) ordered = ordered.slice(0, r.number);
      for (const [id, list] of ordered) {
        const infos = [];
        for (const j of list) infos.push(jobInfoMsg(j, await detailsOf(j, r.details)));
        yield { job_set: { id }, jobs: infos };
      }
    })();
  });
  s.unary<StopJobReq, Empty>('StopJob', (r) => jobView(`POST ${P}/pipelines/:name/jobs/:id/stop`, jobTarget(r.job)), async (r) => {
    const t = jobTarget(r.job);
    await jobs.stopJob(t.pipeline, t.id);
    return EMPTY;
  });

  // ---- datums ----
  const datumTarget = (r: InspectDatumReq): { pipeline: string; id: string; datum: string } => {
    const d = r.datum;
    if (d === null || d.id === '') throw new SluiceError('INVALID_ARGUMENT', 'datum.id is required', { details: { field: 'datum.id' } });
    return { ...jobTarget(d.job, 'datum.job'), datum: d.id };
  };
  s.unary<InspectDatumReq, unknown>('InspectDatum', (r) => jobView(`GET ${P}/pipelines/:name/jobs/:id/datums`, datumTarget(r)), async (r) => {
    const t = datumTarget(r);
    const d = (await jobs.datums(t.pipeline, t.id)).find((x) => x.id === t.datum);
    if (d === undefined) throw new SluiceError('PPS_DATUM_NOT_FOUND', `datum ${t.datum} not found in job ${t.pipeline}@${t.id}`, { details: { pipeline: t.pipeline, job: t.id, datum: t.datum } });
    return datumInfoMsg(t.pipeline, d);
  });
  s.serverStream<ListDatumReq, unknown>('ListDatum', (r) => {
    if (r.job === null) throw new SluiceError('NOT_IMPLEMENTED', 'ListDatum of an input without a job is not served by Sluice: create the pipeline and list its job\'s datums', { details: { field: 'input' } });
    return jobView(`GET ${P}/pipelines/:name/jobs/:id/datums`, jobTarget(r.job));
  }, (r) => {
    const t = jobTarget(r.job);
    const states = new Set(r.filter?.state ?? []);
    return (async function* () {
      let list = await jobs.datums(t.pipeline, t.id);
      if (states.size > 0) list = list.filter((d) => states.has(DATUM_STATES[d.state]));
      if (r.reverse) list = list.reverse();
      if (r.paginationMarker !== '') {
        const at = list.findIndex((d) => d.id === r.paginationMarker);
        list = at === -1 ? [] : list.slice(at + 1);
      }
      if (r.number > 0) list = list.slice(0, r.number);
      for (const d of list) yield datumInfoMsg(t.pipeline, d);
    })();
  });

  // ---- logs ----
  const logQuery = (r: GetLogsReq): { pipeline?: string; job?: string; datum?: string } => {
    const q: { pipeline?: string; job?: string; datum?: string } = {};
    if (r.pipeline !== null && r.pipeline.name !== '') q.pipeline = pipelineName(r.pipeline);
    if (r.job !== null && r.job.id !== '') {
      q.job = r.job.id;
      if (q.pipeline === undefined && r.job.pipeline !== null && r.job.pipeline.name !== '') q.pipeline = pipelineName(r.job.pipeline, 'job.pipeline');
    }
    if (r.datum !== null && r.datum.id !== '') {
      q.datum = r.datum.id;
      if (q.job === undefined && r.datum.job !== null && r.datum.job.id !== '') q.job = r.datum.job.id;
      if (q.pipeline === undefined && r.datum.job?.pipeline != null && r.datum.job.pipeline.name !== '') q.pipeline = pipelineName(r.datum.job.pipeline, 'datum.job.pipeline');
    }
    if (q.pipeline === undefined && q.job === undefined) throw new SluiceError('INVALID_ARGUMENT', 'GetLogs needs a pipeline or a job', { details: { field: 'pipeline' } });
    return q;
  };
  s.serverStream<GetLogsReq, unknown>('GetLogs', (r) => ({ route: `GET ${P}/logs`, query: logQuery(r) }), (r, ctx) => {
    const q = logQuery(r);
    if (r.tail > 0 && r.follow) throw new SluiceError('NOT_IMPLEMENTED', 'GetLogs with both tail and follow is not served by Sluice: use one of them', { details: { field: 'tail' } });
    if (r.data_filters.length > 0) throw new SluiceError('NOT_IMPLEMENTED', 'GetLogs data_filters are not served by Sluice: filter by datum id instead', { details: { field: 'data_filters' } });
    const sinceMs = durationMs(r.since);
    const from = sinceMs !== undefined && sinceMs > 0 ? pps.ctx.now() - sinceMs : undefined;
    return (async function* () {
      if (q.pipeline !== undefined) await pipelines.inspect(q.pipeline);
      const lines = logs.read({ ...q, follow: r.follow, signal: ctx.signal });
      if (r.tail > 0) {
        const last: unknown[] = [];
        for await (const l of lines) {
          if (from !== undefined && l.ts < from) continue;
          if (r.master && l.stream !== 'system') continue;
          last.push(logMessage(l));
          if (last.length > r.tail) last.shift();
        }
        yield* last;
        return;
      }
      for await (const l of lines) {
        if (from !== undefined && l.ts < from) continue;
        if (r.master && l.stream !== 'system') continue;
        yield logMessage(l);
      }
    })();
  });

  s.notServed('SubscribeJob', 'list jobs with ListJob, or wait for one with InspectJob(wait=true)');
  s.notServed('DeleteJob', 'jobs are deleted with their pipeline');
  s.notServed('RestartDatum', 'failed datums are retried up to datum_tries; update the pipeline with reprocess to run them again');
  s.notServed('RunCron', 'cron inputs tick on their schedule');
  for (const m of ['CreateSecret', 'DeleteSecret', 'ListSecret', 'InspectSecret']) s.notServed(m, 'Sluice keeps no Kubernetes secrets');
}
