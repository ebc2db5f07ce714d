/**
 * PipelineService: creating, updating, stopping, starting, listing and deleting pipelines.
 *
 * A pipeline owns an output repo of its name (its output branch computed from its inputs'
 * branches), a system repo `<name>.spec` whose commits hold each version's spec (every spout and
 * job commit has provenance on one of them), cron repos for its cron inputs, and a row with
 * its current version. Creating or updating runs a job over the inputs' current heads,
 * identified by the new spec commit's id, as Pachyderm 2 does.
 */
import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { PipelinesTable } from '../storage/metadata/schema.js';
import type { CreatePipelineResponse, JobCounts, JobState, PipelineInfo, PipelineState, PipelineType } from '../api/pps-types.js';
import type { BranchRef, CommitRef } from '../api/types.js';
import { SluiceError, isSluiceError } from '../errors/index.js';
import type { PpsContext } from './pps-context.js';
import { commandWarnings } from './command-check.js';
import {
  applyDefaults, inputShorthand, parseSpecs, validateParsedSpec, visitInputs,
  type Input, type ParsedSpec, type ValidPipelineSpec,
} from './spec/index.js';

export interface LeafInput {
  name: string;
  repo: string;
  branch: string;
  kind: 'pfs' | 'cron';
}

export function leafInputs(input: Input | undefined): LeafInput[] {
  const out: LeafInput[] = [];
  if (input === undefined) return out;
  visitInputs(input, (i) => {
    if (i.pfs !== undefined) out.push({ name: i.pfs.name, repo: i.pfs.repo, branch: i.pfs.branch, kind: 'pfs' });
    if (i.cron !== undefined) out.push({ name: i.cron.name, repo: i.cron.repo, branch: 'master', kind: 'cron' });
  });
  return out;
}

export function pipelineType(spec: ValidPipelineSpec): PipelineType {
  return spec.spout !== undefined ? 'spout' : spec.service !== undefined ? 'service' : 'transform';
}

export function specRepo(name: string): string {
  return `${name}.spec`;
}

export type PipelineRow = Selectable<PipelinesTable>;

/** Drops `""` values (proto3's "unset" for every string field, durations included), recursively. */
function withoutEmptyStrings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutEmptyStrings);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== '') out[k] = withoutEmptyStrings(x);
  return out;
}

/**
 * When `text` is what `inspect pipeline --raw` prints (a PipelineInfo: `name`, `type`,
 * `specCommit` and the normalized `spec`), the spec inside it as JSON text, so that output can
 * be edited and given back to `update pipeline`; otherwise undefined. The normalized spec spells
 * unset durations as `""`, which the parser (as Pachyderm's) refuses, so those are dropped.
 */
export function specOfInspectOutput(text: string): string | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return undefined;
  const d = doc as Record<string, unknown>;
  const isInfo = typeof d.name === 'string' && typeof d.type === 'string' && typeof d.specCommit === 'object' && d.specCommit !== null
    && typeof d.spec === 'object' && d.spec !== null && !Array.isArray(d.spec);
  return isInfo ? JSON.stringify(withoutEmptyStrings(d.spec), null, 2) : undefined;
}

export interface PipelineHooks {
  /** Called after a pipeline is created or updated: make its first job, start its workers. */
  afterChange(name: string, jobId: string | null): Promise<void>;
  /** Called before a pipeline is deleted: stop its workers, timers and jobs. */
  beforeDelete(name: string): Promise<void>;
}

// ---- auth ----
/**
 * A pipeline's credentials (implemented by the auth service): on create and update its roles
 * follow the new spec and a new token replaces the previous one, which is revoked; on delete
 * the token is revoked and the roles dropped.
 */
export interface PipelineCredentials {
  pipelineChanged(name: string, repos: { inputs: string[] }): Promise<void>;
  pipelineDeleted(name: string, opts: { keepRepo: boolean }): Promise<void>;
}
// ---- end auth ----

export class PipelineService {
  private hooks: PipelineHooks | undefined;
  private credentials: PipelineCredentials | undefined;

  /**
   * @param checkCommands whether to warn at create time about a transform.cmd this host cannot
   *   run (command-check.ts): true for the local executor, which runs commands on the host.
   */
  constructor(private readonly ctx: PpsContext, private readonly checkCommands = true) {}

  setHooks(hooks: PipelineHooks): void {
    this.hooks = hooks;
  }

  /** Wires the auth service (see PipelineCredentials). */
  setCredentials(credentials: PipelineCredentials): void {
    this.credentials = credentials;
  }

  /** Parses, validates and creates (or updates) every pipeline in a spec file's text. */
  async createPipelines(text: string, opts: { file?: string; update?: boolean; reprocess?: boolean } = {}): Promise<CreatePipelineResponse> {
    const parsed = parseSpecs(specOfInspectOutput(text) ?? text, opts.file === undefined ? {} : { file: opts.file });
    if (parsed.length === 0) throw new SluiceError('PPS_SPEC_INVALID', `${opts.file ?? 'spec'}: no pipeline spec found`);
    const ready: Array<{ spec: ValidPipelineSpec; parsed: ParsedSpec }> = [];
    const commandNotes: string[] = [];
    for (const p of parsed) {
      const withDefaults = { ...p, spec: applyDefaults(p.spec, { now: new Date(this.ctx.now()) }) };
      validateParsedSpec(withDefaults);
      ready.push({ spec: withDefaults.spec, parsed: withDefaults });
      if (this.checkCommands) commandNotes.push(...commandWarnings(withDefaults.spec, p.spec.transform?.image));
    }
    const out: CreatePipelineResponse = { pipelines: [], warnings: [...parsed.flatMap((p) => p.warnings), ...commandNotes] };
    for (const { spec } of ready) {
      out.pipelines.push(await this.createOne(spec, opts.update === true || spec.update, opts.reprocess === true || spec.reprocess));
    }
    return out;
  }

  private async createOne(spec: ValidPipelineSpec, update: boolean, reprocess: boolean): Promise<PipelineInfo> {
    const name = spec.pipeline.name;
    const pfs = this.ctx.pfs.service;
    const existing = await this.row(name);
    if (existing !== undefined && !update) throw new SluiceError('PPS_PIPELINE_EXISTS', `pipeline "${name}" already exists`, { details: { pipeline: name } });
    if (existing === undefined && spec.input !== undefined) {
      for (const leaf of leafInputs(spec.input)) {
        if (leaf.kind === 'pfs' && leaf.repo === name) throw new SluiceError('PPS_SPEC_INVALID', `pipeline "${name}" cannot take its own output repo as input`);
      }
    }
    // Inputs must exist (cron repos are ours to make).
    for (const leaf of leafInputs(spec.input)) {
      if (leaf.kind !== 'pfs') continue;
      try {
        await pfs.inspectRepo(leaf.repo);
      } catch (err) {
        if (isSluiceError(err, 'PFS_REPO_NOT_FOUND')) {
          throw new SluiceError('PPS_SPEC_INVALID', `input repo ${leaf.repo} not found (pipeline "${name}", input "${leaf.name}")`, { details: { pipeline: name, repo: leaf.repo } });
        }
        throw err;
      }
    }
    const type = pipelineType(spec);
    const now = this.ctx.now();
    // Output repo: made for a new pipeline; an empty leftover of an interrupted create is reused.
    if (existing === undefined) {
      try {
        await pfs.createRepo({ name, description: `Output repo for pipeline ${name}.` });
      } catch (err) {
        if (!isSluiceError(err, 'PFS_REPO_EXISTS')) throw err;
        const commits = await pfs.listCommits(name, { limit: 1 });
        if (commits.length > 0) throw new SluiceError('PPS_SPEC_INVALID', `cannot create pipeline "${name}": a repo named ${name} already exists and holds data`, { details: { pipeline: name } });
      }
      await ensureRepo(this.ctx, specRepo(name), 'spec', `Spec history of pipeline ${name}.`);
    }
    for (const leaf of leafInputs(spec.input)) {
      if (leaf.kind === 'cron') await ensureRepo(this.ctx, leaf.repo, 'user', `Cron ticks for pipeline ${name}.`);
    }
    if (spec.spout?.marker !== undefined && spec.spout.marker !== '') {
      await pfs.createBranch(name, { name: 'marker' }).catch((err: unknown) => {
        if (!isSluiceError(err)) throw err;
      });
    }
    const provenance: BranchRef[] = leafInputs(spec.input).map((l) => ({ repo: l.repo, branch: l.branch }));
    provenance.push({ repo: specRepo(name), branch: 'master' });
    await pfs.createBranch(name, { name: spec.outputBranch, provenance });

    if (existing !== undefined && reprocess && type === 'spout') {
      // Pachyderm: `update pipeline --reprocess` of a spout starts it over, with no output and no
      // marker. Stop the old code first so it cannot commit after the branches are emptied.
      await this.ctx.executor.stop(name);
      await this.emptyBranch(name, spec.outputBranch);
      if (spec.spout?.marker !== undefined && spec.spout.marker !== '') await this.emptyBranch(name, 'marker');
    }
    const version = (existing?.version ?? 0) + 1;
    const specJson = JSON.stringify(spec);
    const specCommit = (await this.ctx.pfs.uploads.commitSingleFile(specRepo(name), 'master', '/spec.json', Buffer.from(specJson + '\n'), `version ${version}`)).id;
    const salt = existing === undefined || reprocess ? randomUUID() : existing.salt;
    await this.ctx.pfs.ctx.tx(async (trx) => {
      if (existing === undefined) {
        const seq = await trx.selectFrom('counters').select('value').where('name', '=', 'finish_seq').executeTakeFirstOrThrow();
        await trx.insertInto('pipelines').values({
          name, version, spec: specJson, spec_commit: specCommit, state: spec.spout !== undefined || spec.input !== undefined ? 'starting' : 'starting',
          reason: '', stopped: 0, salt, created_at: now, updated_at: now,
          // Inputs' history before the pipeline existed is covered by the first job below.
          input_seq: seq.value,
        }).execute();
      } else {
        await trx.updateTable('pipelines').set({ version, spec: specJson, spec_commit: specCommit, salt, updated_at: now, state: existing.stopped === 1 ? 'paused' : 'starting', reason: '' }).where('name', '=', name).execute();
      }
      await trx.insertInto('pipeline_versions').values({ name, version, spec: specJson, spec_commit: specCommit, created_at: now }).execute();
    });
    // ---- auth: a new token before the new version's workers start; the old one is revoked ----
    await this.credentials?.pipelineChanged(name, { inputs: leafInputs(spec.input).map((l) => l.repo) });
    await this.hooks?.afterChange(name, type === 'transform' ? specCommit : null);
    return this.inspect(name);
  }

  /** Commits an empty tree on a branch that has commits (a no-op for a branch with none). */
  private async emptyBranch(repo: string, branch: string): Promise<void> {
    const b = await this.ctx.pfs.service.inspectBranch(repo, branch).catch(() => undefined);
    if (b?.head == null) return;
    const uploads = this.ctx.pfs.uploads;
    const id = await uploads.create();
    await uploads.deleteFile(id, '/');
    await uploads.commit(id, { repo, ref: branch, description: 'emptied by update pipeline --reprocess' }, 'AUTO');
  }

  async row(name: string): Promise<PipelineRow | undefined> {
    return this.ctx.db.selectFrom('pipelines').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async requireRow(name: string): Promise<PipelineRow> {
    const row = await this.row(name);
    if (row === undefined) throw new SluiceError('PPS_PIPELINE_NOT_FOUND', `pipeline ${name} not found`, { details: { pipeline: name } });
    return row;
  }

  async inspect(name: string): Promise<PipelineInfo> {
    return this.info(await this.requireRow(name));
  }

  async list(opts: { history?: boolean } = {}): Promise<PipelineInfo[]> {
    const rows = await this.ctx.db.selectFrom('pipelines').selectAll().orderBy('created_at', 'desc').orderBy('name').execute();
    const out: PipelineInfo[] = [];
    for (const r of rows) {
      if (opts.history === true) out.push(...(await this.history(r.name)));
      else out.push(await this.info(r));
    }
    return out;
  }

  /** Every version of a pipeline, newest first. */
  async history(name: string): Promise<PipelineInfo[]> {
    const row = await this.requireRow(name);
    const versions = await this.ctx.db.selectFrom('pipeline_versions').selectAll().where('name', '=', name).orderBy('version', 'desc').execute();
    const out: PipelineInfo[] = [];
    for (const v of versions) {
      out.push(await this.info({ ...row, version: v.version, spec: v.spec, spec_commit: v.spec_commit, updated_at: v.created_at }));
    }
    return out;
  }

  private async info(row: PipelineRow): Promise<PipelineInfo> {
    const spec = JSON.parse(row.spec) as ValidPipelineSpec;
    const counts: JobCounts = { created: 0, starting: 0, running: 0, finishing: 0, success: 0, failure: 0, killed: 0 };
    const rows = await this.ctx.db.selectFrom('jobs').select(['state']).select((eb) => eb.fn.countAll<number>().as('n')).where('pipeline', '=', row.name).groupBy('state').execute();
    for (const r of rows) counts[r.state as JobState] = Number(r.n);
    const last = await this.ctx.db.selectFrom('jobs').select('state').where('pipeline', '=', row.name).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return {
      name: row.name,
      version: row.version,
      type: pipelineType(spec),
      description: spec.description,
      spec: spec as unknown as Record<string, unknown>,
      specCommit: { repo: specRepo(row.name), id: row.spec_commit },
      state: row.state as PipelineState,
      reason: row.reason,
      stopped: row.stopped === 1,
      created: row.created_at,
      updated: row.updated_at,
      input: inputShorthand(spec.input),
      outputBranch: spec.outputBranch,
      parallelism: spec.spout !== undefined ? 1 : Math.max(1, spec.parallelismSpec?.constant ?? 1),
      workersRunning: this.ctx.executor.running(row.name),
      lastJobState: (last?.state as JobState | undefined) ?? null,
      jobCounts: counts,
    };
  }

  /**
   * Names the outcome of the pipeline's last job in its reason (`inspect pipeline` shows it), so
   * a pipeline whose jobs fail says why without reading logs; a crashing pipeline keeps its own.
   */
  async noteJobEnded(name: string, jobId: string, state: string, reason: string): Promise<void> {
    const q = this.ctx.db.updateTable('pipelines').where('name', '=', name).where('state', '!=', 'crashing');
    if (state === 'failure') await q.set({ reason: `last job ${jobId} failed: ${reason}` }).execute();
    else if (state === 'success') await q.set({ reason: '' }).where('reason', 'like', 'last job %').execute();
  }

  async setState(name: string, state: PipelineState, reason = ''): Promise<void> {
    await this.ctx.db.updateTable('pipelines').set({ state, reason }).where('name', '=', name).execute();
  }

  async stop(name: string): Promise<PipelineInfo> {
    await this.requireRow(name);
    await this.ctx.db.updateTable('pipelines').set({ stopped: 1, state: 'paused', reason: '' }).where('name', '=', name).execute();
    await this.ctx.executor.stop(name);
    return this.inspect(name);
  }

  async start(name: string): Promise<PipelineInfo> {
    await this.requireRow(name);
    await this.ctx.db.updateTable('pipelines').set({ stopped: 0, state: 'starting', reason: '' }).where('name', '=', name).execute();
    await this.hooks?.afterChange(name, null);
    return this.inspect(name);
  }

  /** Deletes a pipeline: its workers, jobs, logs, spec history, cron repos and (unless kept) its output repo. */
  async delete(name: string, opts: { keepRepo?: boolean; force?: boolean } = {}): Promise<void> {
    const row = await this.requireRow(name);
    const spec = JSON.parse(row.spec) as ValidPipelineSpec;
    const pfs = this.ctx.pfs.service;
    // Other pipelines reading this one's output must go first (unless forced).
    const dependents = (await pfs.inspectBranch(name, spec.outputBranch).catch(() => undefined))?.subvenance ?? [];
    const users = dependents.filter((d) => d.repo !== name);
    if (users.length > 0 && opts.force !== true && opts.keepRepo !== true) {
      throw new SluiceError('PFS_REPO_HAS_DEPENDENTS', `cannot delete pipeline ${name}: ${users.map((u) => `${u.repo}@${u.branch}`).join(', ')} read its output; delete them first`, { details: { pipeline: name } });
    }
    await this.hooks?.beforeDelete(name);
    await this.ctx.pfs.ctx.tx(async (trx) => {
      await trx.deleteFrom('datums').where('pipeline', '=', name).execute();
      await trx.deleteFrom('datum_outputs').where('pipeline', '=', name).execute();
      await trx.deleteFrom('jobs').where('pipeline', '=', name).execute();
      await trx.deleteFrom('logs').where('pipeline', '=', name).execute();
      await trx.deleteFrom('pipeline_versions').where('name', '=', name).execute();
      await trx.deleteFrom('pipelines').where('name', '=', name).execute();
    });
    // ---- auth: the pipeline's token is revoked, its roles dropped ----
    await this.credentials?.pipelineDeleted(name, { keepRepo: opts.keepRepo === true });
    if (opts.keepRepo === true) {
      await pfs.createBranch(name, { name: spec.outputBranch, provenance: [] }).catch(() => undefined);
    } else {
      await pfs.deleteRepo(name, { force: true }).catch((err: unknown) => {
        if (!isSluiceError(err, 'PFS_REPO_NOT_FOUND')) throw err;
      });
    }
    await pfs.deleteRepo(specRepo(name), { force: true }).catch(() => undefined);
    for (const leaf of leafInputs(spec.input)) {
      if (leaf.kind === 'cron') await pfs.deleteRepo(leaf.repo, { force: true }).catch(() => undefined);
    }
  }

  /** Deletes every pipeline, downstream ones first. */
  async deleteAll(opts: { keepRepo?: boolean } = {}): Promise<void> {
    for (;;) {
      const rows = await this.ctx.db.selectFrom('pipelines').select('name').execute();
      if (rows.length === 0) return;
      for (const r of rows) await this.delete(r.name, { ...opts, force: true });
    }
  }

  async specOf(name: string, version: number): Promise<ValidPipelineSpec> {
    const v = await this.ctx.db.selectFrom('pipeline_versions').select('spec').where('name', '=', name).where('version', '=', version).executeTakeFirst();
    if (v === undefined) throw new SluiceError('PPS_PIPELINE_NOT_FOUND', `pipeline ${name} version ${version} not found`);
    return JSON.parse(v.spec) as ValidPipelineSpec;
  }

  specCommitOf(row: PipelineRow): CommitRef {
    return { repo: specRepo(row.name), id: row.spec_commit };
  }
}

async function ensureRepo(ctx: PpsContext, name: string, type: 'user' | 'spec', description: string): Promise<void> {
  try {
    await ctx.pfs.service.createRepo({ name, description }, type);
  } catch (err) {
    if (!isSluiceError(err, 'PFS_REPO_EXISTS')) throw err;
  }
}
