/**
 * JobService: turning finished input commits into jobs, and running jobs to their end.
 *
 * - Exactly once: `scan` picks up every finished commit on a pipeline's input branches after the
 *   pipeline's high-water mark (`input_seq`, the global finish order) and makes one job per
 *   commit in the same transaction that moves the mark. It runs on every `commitFinished` event
 *   and at start-up, so a crash between a commit and its job loses nothing.
 * - Jobs of one pipeline run one at a time, oldest first. Starting a job computes its datums,
 *   opens the output commit (id = the job id = the input commit-set id; provenance on the input
 *   commits and the spec commit) and records the datums, all in one transaction. Datums already
 *   processed under the same salt are skipped and their earlier output reused.
 * - Workers claim pending datums by long polling; results are recorded per datum. When no datum
 *   is left the output commit is assembled from every datum's output in datum order and finished
 *   in one transaction. A job that fails (a datum out of tries) or is stopped deletes its open
 *   output commit, so downstream never sees a partial output.
 */
import type { Selectable } from 'kysely';
import type { JobsTable } from '../storage/metadata/schema.js';
import type { DatumInfo, DatumInput, DatumResult, DatumState, DatumTask, JobInfo, JobState } from '../api/pps-types.js';
import type { CommitRef } from '../api/types.js';
import { SluiceError, isSluiceError } from '../errors/index.js';
import { commitStage, finishCommitTx, getCommitRow, startCommitTx, commitInfo } from '../pfs/index.js';
import type { PpsContext } from './pps-context.js';
import { computeDatums, datumHash, type InputCommits } from './datums.js';
import { leafInputs, specRepo, type PipelineRow, type PipelineService } from './pipelines.js';
import { applyDefaults, parseDuration, parseSpecs, validateParsedSpec, type ValidPipelineSpec } from './spec/index.js';

type JobRow = Selectable<JobsTable>;

/** A validated spec's duration in ms (0 when unset). */
function durationMs(text: string): number {
  if (text === '') return 0;
  const d = parseDuration(text);
  return 'ms' in d ? d.ms : 0;
}

const ENDED: ReadonlySet<string> = new Set<JobState>(['success', 'failure', 'killed']);

export class JobService {
  constructor(
    private readonly ctx: PpsContext,
    private readonly pipelines: PipelineService,
  ) {}

  // ---- making jobs ----

  /** Makes a job for every input commit the pipeline has not seen yet, then advances the queue. */
  async scan(name: string): Promise<void> {
    await this.ctx.lock.run(name, async () => {
      const row = await this.pipelines.row(name);
      if (row === undefined) return;
      const spec = JSON.parse(row.spec) as ValidPipelineSpec;
      const leaves = leafInputs(spec.input);
      if (leaves.length === 0) return;
      const db = this.ctx.db;
      const fresh = await db.selectFrom('commits').select(['repo', 'id', 'branch', 'finish_seq'])
        .where('finish_seq', '>', row.input_seq)
        .where((eb) => eb.or(leaves.map((l) => eb.and([eb('repo', '=', l.repo), eb('branch', '=', l.branch)]))))
        .orderBy('finish_seq').execute();
      for (const c of fresh) {
        const inputs = await this.inputCommits(spec, { repo: c.repo, id: c.id });
        await this.ctx.pfs.ctx.tx(async (trx) => {
          const exists = await trx.selectFrom('jobs').select('id').where('pipeline', '=', name).where('id', '=', c.id).executeTakeFirst();
          // A commit set already has its job (a diamond: two inputs from one set); one job per set.
          if (exists === undefined && inputs !== undefined) await this.insertJob(trx, row, c.id, inputs);
          await trx.updateTable('pipelines').set({ input_seq: c.finish_seq ?? row.input_seq }).where('name', '=', name).execute();
        });
      }
    });
    await this.advance(name);
  }

  /** A job over the inputs' current heads, named by `id` (create/update use the spec commit id). */
  async jobForHeads(name: string, id: string): Promise<void> {
    await this.ctx.lock.run(name, async () => {
      const row = await this.pipelines.requireRow(name);
      const spec = JSON.parse(row.spec) as ValidPipelineSpec;
      if (leafInputs(spec.input).length === 0) return;
      const inputs = await this.inputCommits(spec);
      if (inputs === undefined) return;
      await this.ctx.pfs.ctx.tx(async (trx) => {
        const exists = await trx.selectFrom('jobs').select('id').where('pipeline', '=', name).where('id', '=', id).executeTakeFirst();
        if (exists === undefined) await this.insertJob(trx, row, id, inputs);
      });
    });
    await this.advance(name);
  }

  /**
   * The commit each leaf input reads: `trigger` for its own branch, the latest finished commit
   * of every other input branch. Undefined when some input has no finished commit yet.
   */
  private async inputCommits(spec: ValidPipelineSpec, trigger?: CommitRef): Promise<CommitRef[] | undefined> {
    const out: CommitRef[] = [];
    for (const leaf of leafInputs(spec.input)) {
      if (trigger !== undefined && trigger.repo === leaf.repo) {
        out.push(trigger);
        continue;
      }
      const head = await this.latestFinished(leaf.repo, leaf.branch);
      if (head === undefined) {
        // A cron input that has not ticked yet, or an empty input repo: no datums there, but
        // Pachyderm still runs cross/union over the rest, so only a missing pfs head stops the job.
        if (leaf.kind === 'pfs') return undefined;
        continue;
      }
      out.push(head);
    }
    // Nothing to read yet (a cron pipeline before its first tick): no job.
    return out.length === 0 ? undefined : out;
  }

  private async latestFinished(repo: string, branch: string): Promise<CommitRef | undefined> {
    const db = this.ctx.db;
    const b = await db.selectFrom('branches').select('head').where('repo', '=', repo).where('name', '=', branch).executeTakeFirst();
    let id = b?.head ?? null;
    while (id !== null) {
      const c = await getCommitRow(db, repo, id);
      if (c === undefined) return undefined;
      if (c.finished_at !== null) return { repo, id };
      id = c.parent;
    }
    return undefined;
  }

  private async insertJob(trx: typeof this.ctx.db, row: PipelineRow, id: string, inputs: CommitRef[]): Promise<void> {
    const seq = await trx.updateTable('counters').set((eb) => ({ value: eb('value', '+', 1) })).where('name', '=', 'job_seq').returning('value').executeTakeFirstOrThrow();
    await trx.insertInto('jobs').values({
      pipeline: row.name, id, pipeline_version: row.version, state: 'created', reason: '', created_at: this.ctx.now(),
      started_at: null, finished_at: null, inputs: JSON.stringify(inputs), output_commit: null, restart: 0,
      total: 0, processed: 0, skipped: 0, failed: 0, recovered: 0, bytes_downloaded: 0, bytes_uploaded: 0, seq: seq.value,
    }).execute();
  }

  // ---- running jobs ----

  /** Starts the oldest queued job of a pipeline if none is running; finishes jobs with nothing left to do. */
  async advance(name: string): Promise<void> {
    let ended: JobInfo | undefined;
    await this.ctx.lock.run(name, async () => {
      const row = await this.pipelines.row(name);
      if (row === undefined) return;
      const db = this.ctx.db;
      const active = await db.selectFrom('jobs').selectAll().where('pipeline', '=', name).where('state', 'in', ['running', 'finishing']).orderBy('seq').executeTakeFirst();
      if (active !== undefined) {
        ended = await this.finishIfDone(active);
        if (ended === undefined) return;
      }
      const next = await db.selectFrom('jobs').selectAll().where('pipeline', '=', name).where('state', '=', 'created').orderBy('seq').executeTakeFirst();
      if (next === undefined) return;
      try {
        await this.startJob(row, next);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        await this.endJob(next, 'failure', `job could not start: ${reason}`);
        await this.log(name, next.id, null, 'system', `job ${next.id} could not start: ${reason}`);
      }
    });
    if (ended !== undefined) {
      // The next job may be waiting.
      setImmediate(() => void this.advance(name).catch(() => undefined));
    }
    this.ctx.events.emit('work', name);
  }

  private async startJob(row: PipelineRow, job: JobRow): Promise<void> {
    const spec = await this.pipelines.specOf(row.name, job.pipeline_version);
    const inputs = JSON.parse(job.inputs) as CommitRef[];
    const byRepo: InputCommits = new Map(inputs.map((c) => [c.repo, c]));
    const datums = spec.input === undefined ? [] : await computeDatums(this.ctx.pfs, spec.input, byRepo);
    const salt = (await this.pipelines.requireRow(row.name)).salt;
    const hashes = datums.map((d) => datumHash(salt, d.id));
    const done = new Set<string>();
    for (let i = 0; i < hashes.length; i += 500) {
      const rows = await this.ctx.db.selectFrom('datum_outputs').select('hash').where('pipeline', '=', row.name).where('hash', 'in', hashes.slice(i, i + 500)).execute();
      for (const r of rows) done.add(r.hash);
    }
    const skipped = hashes.filter((h) => done.has(h)).length;
    const now = this.ctx.now();
    await this.ctx.pfs.ctx.tx(async (trx) => {
      const provenance = [...inputs, { repo: specRepo(row.name), id: row.spec_commit }];
      await startCommitTx(this.ctx.pfs.ctx, trx, row.name, { branch: spec.outputBranch, provenance }, 'AUTO', job.id);
      const rows = datums.map((d, idx) => ({
        pipeline: row.name, job: job.id, idx, id: d.id, hash: hashes[idx]!,
        state: done.has(hashes[idx]!) ? 'skipped' : 'pending', inputs: JSON.stringify(d.inputs), attempt: 0, worker: null, reason: '',
      }));
      for (let i = 0; i < rows.length; i += 100) await trx.insertInto('datums').values(rows.slice(i, i + 100)).execute();
      await trx.updateTable('jobs').set({ state: 'running', started_at: now, output_commit: job.id, total: datums.length, skipped })
        .where('pipeline', '=', row.name).where('id', '=', job.id).execute();
      if (skipped > 0) this.ctx.pfs.ctx.afterCommit(trx, () => this.ctx.meter.datums(row.name, 'skipped', skipped));
    });
    const fresh = await this.requireJob(row.name, job.id);
    const ended = await this.finishIfDone(fresh);
    if (ended === undefined) this.ctx.events.emit('work', row.name);
  }

  /** Finishes the job when no datum is pending or running. Returns the ended job, if it ended. */
  private async finishIfDone(job: JobRow): Promise<JobInfo | undefined> {
    if (ENDED.has(job.state)) return this.jobInfo(job);
    if ((await this.openDatum(job.pipeline, job.id)) !== undefined) return undefined;
    const pfsCtx = this.ctx.pfs.ctx;
    let finished;
    await pfsCtx.tx(async (trx) => {
      const stage = commitStage(job.pipeline, job.id);
      // The output is exactly the datums' outputs, in datum order; files written by several
      // datums are concatenated, as in Pachyderm.
      await trx.insertInto('staged_ops').values({ stage, path: '/', op: 'delete', value: null }).execute();
      const rows = await trx.selectFrom('datums').innerJoin('datum_outputs', (j) => j.onRef('datum_outputs.hash', '=', 'datums.hash').onRef('datum_outputs.pipeline', '=', 'datums.pipeline'))
        .select(['datum_outputs.files']).where('datums.pipeline', '=', job.pipeline).where('datums.job', '=', job.id)
        .where('datums.state', 'in', ['success', 'skipped']).orderBy('datums.idx').execute();
      const ops: Array<{ stage: string; path: string; op: string; value: string }> = [];
      for (const r of rows) {
        for (const [path, v] of JSON.parse(r.files) as Array<[string, { s: number; c: Array<[string, number]> }]>) {
          ops.push({ stage, path, op: 'append', value: JSON.stringify(v) });
        }
      }
      for (let i = 0; i < ops.length; i += 200) await trx.insertInto('staged_ops').values(ops.slice(i, i + 200)).execute();
      const commit = await getCommitRow(trx, job.pipeline, job.id);
      if (commit === undefined) throw new SluiceError('PFS_COMMIT_NOT_FOUND', `output commit ${job.pipeline}@${job.id} is missing`);
      finished = await finishCommitTx(pfsCtx, trx, commit);
      await trx.updateTable('jobs').set({ state: 'success', finished_at: this.ctx.now() }).where('pipeline', '=', job.pipeline).where('id', '=', job.id).execute();
    });
    if (finished !== undefined) pfsCtx.events.emit('commitFinished', await commitInfo(pfsCtx, pfsCtx.db, finished));
    const info = await this.jobInfo(await this.requireJob(job.pipeline, job.id));
    this.ctx.events.emit('jobEnded', info);
    return info;
  }

  /** Ends a job that did not succeed: its open output commit is deleted, its datums dropped. */
  private async endJob(job: JobRow, state: 'failure' | 'killed', reason: string): Promise<JobInfo> {
    const pfsCtx = this.ctx.pfs.ctx;
    await pfsCtx.tx(async (trx) => {
      const commit = await getCommitRow(trx, job.pipeline, job.id);
      if (commit !== undefined && commit.finished_at === null) {
        const heads = await trx.selectFrom('branches').select('name').where('repo', '=', job.pipeline).where('head', '=', job.id).execute();
        for (const h of heads) await trx.updateTable('branches').set({ head: commit.parent }).where('repo', '=', job.pipeline).where('name', '=', h.name).execute();
        await trx.deleteFrom('staged_ops').where('stage', '=', commitStage(job.pipeline, job.id)).execute();
        await trx.deleteFrom('stages').where('id', '=', commitStage(job.pipeline, job.id)).execute();
        await trx.deleteFrom('commit_provenance').where('repo', '=', job.pipeline).where('id', '=', job.id).execute();
        await trx.deleteFrom('commits').where('repo', '=', job.pipeline).where('id', '=', job.id).execute();
      }
      await trx.updateTable('datums').set({ state: 'failed' }).where('pipeline', '=', job.pipeline).where('job', '=', job.id).where('state', 'in', ['pending', 'running']).execute();
      await trx.updateTable('jobs').set({ state, reason, finished_at: this.ctx.now(), output_commit: null }).where('pipeline', '=', job.pipeline).where('id', '=', job.id).execute();
    });
    const info = await this.jobInfo(await this.requireJob(job.pipeline, job.id));
    this.ctx.events.emit('jobEnded', info);
    return info;
  }

  // ---- the worker protocol ----

  /**
   * Hands a pending datum of the pipeline's running job to a worker, waiting up to `waitMs` for
   * one to appear. Returns null when none came.
   */
  async claim(name: string, worker: string, waitMs: number, signal?: AbortSignal): Promise<DatumTask | null> {
    const deadline = Date.now() + Math.max(0, Math.min(waitMs, 60_000));
    for (;;) {
      const task = await this.tryClaim(name, worker);
      if (task !== null) {
        // The worker hung up while the datum was being claimed: nobody will run it.
        if (signal?.aborted === true) {
          await this.releaseWorker(name, worker, false);
          return null;
        }
        return task;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted === true) return null;
      await new Promise<void>((resolve) => {
        const onWork = (p: string): void => {
          if (p === name) done();
        };
        const timer = setTimeout(() => done(), left);
        const done = (): void => {
          clearTimeout(timer);
          this.ctx.events.off('work', onWork);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.ctx.events.on('work', onWork);
        signal?.addEventListener('abort', done);
      });
    }
  }

  private async tryClaim(name: string, worker: string): Promise<DatumTask | null> {
    const row = await this.pipelines.row(name);
    if (row === undefined) throw new SluiceError('PPS_PIPELINE_NOT_FOUND', `pipeline ${name} not found`);
    if (row.state === 'starting' || row.state === 'crashing' || row.state === 'restarting') await this.pipelines.setState(name, 'running');
    if (row.stopped === 1) return null;
    // Read outside any transaction (a query on the database inside one would wait on SQLite's
    // single connection), then claim with a conditional update: only one worker wins a datum.
    const db = this.ctx.db;
    for (;;) {
      const job = await db.selectFrom('jobs').selectAll().where('pipeline', '=', name).where('state', '=', 'running').orderBy('seq').executeTakeFirst();
      if (job === undefined) return null;
      // A worker runs one datum at a time and claims only when it has none: a datum it still
      // holds was handed to it in an answer it never got (a cut connection, a retried report),
      // so it goes back to the queue, its attempt not counted, instead of waiting for ever.
      const held = await db.selectFrom('datums').select('idx').where('pipeline', '=', name).where('job', '=', job.id).where('state', '=', 'running').where('worker', '=', worker).execute();
      for (const h of held) {
        await db.updateTable('datums').set((eb) => ({ state: 'pending', worker: null, attempt: eb('attempt', '-', 1) }))
          .where('pipeline', '=', name).where('job', '=', job.id).where('idx', '=', h.idx).where('state', '=', 'running').where('worker', '=', worker).execute();
      }
      const datum = await db.selectFrom('datums').selectAll().where('pipeline', '=', name).where('job', '=', job.id).where('state', '=', 'pending').orderBy('idx').executeTakeFirst();
      if (datum === undefined) return null;
      const res = await db.updateTable('datums').set({ state: 'running', worker, attempt: datum.attempt + 1 })
        .where('pipeline', '=', name).where('job', '=', job.id).where('idx', '=', datum.idx).where('state', '=', 'pending').executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue;
      const spec = await this.pipelines.specOf(name, job.pipeline_version);
      const t = spec.transform;
      // Only transform pipelines have jobs; a connector spout has no transform.
      if (t === undefined) throw new SluiceError('INTERNAL', `pipeline ${name} has no transform to run datums with`);
      return {
        pipeline: name,
        pipelineVersion: job.pipeline_version,
        job: job.id,
        datum: datum.id,
        inputs: JSON.parse(datum.inputs) as DatumInput[],
        transform: {
          cmd: t.cmd, stdin: t.stdin, env: t.env, workingDir: t.workingDir, acceptReturnCode: t.acceptReturnCode,
          errCmd: t.errCmd, errStdin: t.errStdin, user: t.user, image: t.image,
        },
        attempt: datum.attempt + 1,
        datumTries: spec.datumTries,
        datumTimeoutMs: durationMs(spec.datumTimeout),
      };
    }
  }

  /** Records a worker's result for a datum; ignored when the datum is no longer that worker's. */
  async result(name: string, r: DatumResult): Promise<void> {
    let failJob: { job: JobRow; reason: string } | undefined;
    // Whether the datum's job may have nothing left to run: only then can `advance` change
    // anything (finish it, start the next), so a datum among many skips its queries.
    let mayEnd = true;
    await this.ctx.lock.run(name, async () => {
      const db = this.ctx.db;
      const job = await db.selectFrom('jobs').selectAll().where('pipeline', '=', name).where('id', '=', r.job).executeTakeFirst();
      const datum = await db.selectFrom('datums').selectAll().where('pipeline', '=', name).where('job', '=', r.job).where('id', '=', r.datum)
        .where('state', '=', 'running').where('worker', '=', r.worker).orderBy('idx').executeTakeFirst();
      if (job === undefined || datum === undefined || job.state !== 'running') {
        if (r.uploadId !== undefined) await this.ctx.pfs.uploads.abort(r.uploadId).catch(() => undefined);
        return;
      }
      // The worker's own timing of this attempt (absent from older workers).
      if (typeof r.durationMs === 'number' && Number.isFinite(r.durationMs) && r.durationMs >= 0) this.ctx.meter.datumDuration(name, r.success, r.durationMs / 1000);
      if (r.success) {
        if (r.uploadId === undefined) throw new SluiceError('INVALID_REQUEST_BODY', 'a successful datum result needs uploadId');
        const files = await this.ctx.pfs.uploads.stagedFiles(r.uploadId);
        const bytes = files.reduce((n, [, v]) => n + v.s, 0);
        await this.ctx.pfs.ctx.tx(async (trx) => {
          await trx.insertInto('datum_outputs').values({ pipeline: name, hash: datum.hash, files: JSON.stringify(files), bytes })
            .onConflict((oc) => oc.columns(['pipeline', 'hash']).doUpdateSet({ files: JSON.stringify(files), bytes })).execute();
          await trx.updateTable('datums').set({ state: 'success', reason: '' }).where('pipeline', '=', name).where('job', '=', r.job).where('idx', '=', datum.idx).execute();
          await trx.updateTable('jobs').set((eb) => ({
            ...(r.recovered === true ? { recovered: eb('recovered', '+', 1) } : { processed: eb('processed', '+', 1) }),
            bytes_downloaded: eb('bytes_downloaded', '+', r.bytesDownloaded ?? 0),
            bytes_uploaded: eb('bytes_uploaded', '+', r.bytesUploaded ?? bytes),
          })).where('pipeline', '=', name).where('id', '=', r.job).execute();
          this.ctx.pfs.ctx.afterCommit(trx, () => this.ctx.meter.datums(name, r.recovered === true ? 'recovered' : 'processed', 1));
        });
        // The bytes are referenced from datum_outputs now; the staging rows can go.
        await this.ctx.pfs.uploads.abort(r.uploadId);
        mayEnd = (await this.openDatum(name, r.job)) === undefined;
        return;
      }
      const spec = await this.pipelines.specOf(name, job.pipeline_version);
      const reason = r.reason ?? 'the user code failed';
      if (datum.attempt < spec.datumTries) {
        await db.updateTable('datums').set({ state: 'pending', worker: null, reason }).where('pipeline', '=', name).where('job', '=', r.job).where('idx', '=', datum.idx).execute();
        await this.log(name, r.job, r.datum, 'system', `datum ${r.datum} failed (attempt ${datum.attempt} of ${spec.datumTries}), retrying: ${reason}`);
        mayEnd = false; // the datum itself is pending again
        return;
      }
      await db.updateTable('datums').set({ state: 'failed', reason }).where('pipeline', '=', name).where('job', '=', r.job).where('idx', '=', datum.idx).execute();
      await db.updateTable('jobs').set((eb) => ({ failed: eb('failed', '+', 1) })).where('pipeline', '=', name).where('id', '=', r.job).execute();
      this.ctx.meter.datums(name, 'failed', 1);
      // The worker's reason already names the datum (`datum <id> failed: …`).
      failJob = { job, reason: `${reason} (after ${datum.attempt} attempts)` };
    });
    if (failJob !== undefined) {
      await this.ctx.lock.run(name, async () => {
        await this.endJob(failJob!.job, 'failure', failJob!.reason);
      });
      await this.log(name, failJob.job.id, null, 'system', `job ${failJob.job.id} failed: ${failJob.reason}`);
    }
    this.ctx.events.emit('work', name);
    if (mayEnd) await this.advance(name);
  }

  private async openDatum(name: string, job: string): Promise<{ idx: number } | undefined> {
    return this.ctx.db.selectFrom('datums').select('idx').where('pipeline', '=', name).where('job', '=', job)
      .where('state', 'in', ['pending', 'running']).limit(1).executeTakeFirst();
  }

  /**
   * Puts a worker's running datums back in the queue (the worker died, or never got the datum);
   * with `recovered` they count as recovered in their job.
   */
  async releaseWorker(name: string, worker: string, recovered = true): Promise<void> {
    const db = this.ctx.db;
    const rows = await db.selectFrom('datums').select(['job', 'idx']).where('pipeline', '=', name).where('worker', '=', worker).where('state', '=', 'running').execute();
    for (const r of rows) {
      await db.updateTable('datums').set((eb) => ({ state: 'pending', worker: null, attempt: recovered ? eb.ref('attempt') : eb('attempt', '-', 1) }))
        .where('pipeline', '=', name).where('job', '=', r.job).where('idx', '=', r.idx).where('state', '=', 'running').execute();
      if (recovered) await db.updateTable('jobs').set((eb) => ({ recovered: eb('recovered', '+', 1) })).where('pipeline', '=', name).where('id', '=', r.job).execute();
    }
    if (rows.length > 0) this.ctx.events.emit('work', name);
  }

  /**
   * Hands back datums held by workers the executor no longer runs (a worker that died between
   * claiming a datum and its exit being seen). A no-op for executors that cannot tell.
   */
  async sweepOrphans(): Promise<void> {
    const rows = await this.ctx.db.selectFrom('datums').select(['pipeline', 'worker']).distinct().where('state', '=', 'running').execute();
    for (const r of rows) {
      if (r.worker === null) continue;
      const live = this.ctx.executor.workerIds(r.pipeline);
      if (live !== undefined && !live.includes(r.worker)) await this.releaseWorker(r.pipeline, r.worker);
    }
  }

  /** After a daemon restart: every running datum goes back to the queue and the job counts a restart. */
  async recover(): Promise<void> {
    const db = this.ctx.db;
    const running = await db.selectFrom('datums').select(['pipeline', 'job']).distinct().where('state', '=', 'running').execute();
    await db.updateTable('datums').set({ state: 'pending', worker: null }).where('state', '=', 'running').execute();
    for (const r of running) {
      await db.updateTable('jobs').set((eb) => ({ restart: eb('restart', '+', 1) })).where('pipeline', '=', r.pipeline).where('id', '=', r.job).execute();
    }
  }

  async stopJob(name: string, id: string): Promise<JobInfo> {
    const info = await this.ctx.lock.run(name, async () => {
      const job = await this.requireJob(name, id);
      if (ENDED.has(job.state)) return this.jobInfo(job);
      return this.endJob(job, 'killed', 'stopped by the user');
    });
    await this.advance(name);
    return info;
  }

  // ---- reading ----

  async requireJob(pipeline: string, id: string): Promise<JobRow> {
    const row = await this.ctx.db.selectFrom('jobs').selectAll().where('pipeline', '=', pipeline).where('id', '=', id).executeTakeFirst();
    if (row === undefined) {
      await this.pipelines.requireRow(pipeline);
      throw new SluiceError('PPS_JOB_NOT_FOUND', `job ${pipeline}@${id} not found`, { details: { pipeline, job: id } });
    }
    return row;
  }

  async inspect(pipeline: string, id: string): Promise<JobInfo> {
    return this.jobInfo(await this.requireJob(pipeline, id));
  }

  async list(opts: { pipeline?: string } = {}): Promise<JobInfo[]> {
    let q = this.ctx.db.selectFrom('jobs').selectAll().orderBy('seq', 'desc');
    if (opts.pipeline !== undefined) {
      await this.pipelines.requireRow(opts.pipeline);
      q = q.where('pipeline', '=', opts.pipeline);
    }
    return Promise.all((await q.execute()).map((r) => this.jobInfo(r)));
  }

  /**
   * Pachyderm's `list datum -f <spec>`: the datums the first spec in `text` would have over its
   * inputs' current heads, without creating anything (the pipeline need not exist). Each is
   * `pending` with no job. An input repo that does not exist is an error; an input with no
   * finished commit yet gives no datums, as it gives no job.
   */
  async previewDatums(text: string, opts: { file?: string } = {}): Promise<DatumInfo[]> {
    const [first] = parseSpecs(text, opts.file === undefined ? {} : { file: opts.file });
    if (first === undefined) throw new SluiceError('PPS_SPEC_INVALID', `${opts.file ?? 'spec'}: no pipeline spec found`);
    const withDefaults = { ...first, spec: applyDefaults(first.spec, { now: new Date(this.ctx.now()) }) };
    validateParsedSpec(withDefaults);
    const spec = withDefaults.spec;
    if (spec.input === undefined) return [];
    for (const leaf of leafInputs(spec.input)) {
      if (leaf.kind === 'pfs') await this.ctx.pfs.service.inspectRepo(leaf.repo);
    }
    const inputs = await this.inputCommits(spec);
    if (inputs === undefined) return [];
    const datums = await computeDatums(this.ctx.pfs, spec.input, new Map(inputs.map((c) => [c.repo, c])));
    return datums.map((d) => ({ id: d.id, job: '', state: 'pending', inputs: d.inputs, tries: 0, reason: '' }));
  }

  async datums(pipeline: string, id: string): Promise<DatumInfo[]> {
    await this.requireJob(pipeline, id);
    const rows = await this.ctx.db.selectFrom('datums').selectAll().where('pipeline', '=', pipeline).where('job', '=', id).orderBy('idx').execute();
    return rows.map((d) => ({ id: d.id, job: d.job, state: d.state as DatumState, inputs: JSON.parse(d.inputs) as DatumInput[], tries: d.attempt, reason: d.reason }));
  }

  async wait(pipeline: string, id: string, signal?: AbortSignal): Promise<JobInfo> {
    return new Promise<JobInfo>((resolve, reject) => {
      const onEnd = (info: JobInfo): void => {
        if (info.pipeline === pipeline && info.id === id) done(() => resolve(info));
      };
      const onAbort = (): void => done(() => reject(new SluiceError('UNAVAILABLE', 'wait cancelled')));
      const done = (then: () => void): void => {
        this.ctx.events.off('jobEnded', onEnd);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      this.ctx.events.on('jobEnded', onEnd);
      signal?.addEventListener('abort', onAbort);
      this.inspect(pipeline, id).then((info) => {
        if (ENDED.has(info.state)) done(() => resolve(info));
      }, (err: unknown) => done(() => reject(err)));
    });
  }

  private async jobInfo(r: JobRow): Promise<JobInfo> {
    return {
      pipeline: r.pipeline,
      id: r.id,
      pipelineVersion: r.pipeline_version,
      state: r.state as JobState,
      reason: r.reason,
      created: r.created_at,
      started: r.started_at,
      finished: r.finished_at,
      outputCommit: r.output_commit === null ? null : { repo: r.pipeline, id: r.output_commit },
      inputs: JSON.parse(r.inputs) as CommitRef[],
      restart: r.restart,
      datums: { total: r.total, processed: r.processed, skipped: r.skipped, failed: r.failed, recovered: r.recovered },
      bytesDownloaded: r.bytes_downloaded,
      bytesUploaded: r.bytes_uploaded,
    };
  }

  private async log(pipeline: string, job: string | null, datum: string | null, stream: 'system', message: string): Promise<void> {
    const line = { ts: this.ctx.now(), pipeline, job, datum, worker: null, stream, message };
    await this.ctx.db.insertInto('logs').values(line).execute().catch((err: unknown) => {
      if (!isSluiceError(err)) return;
    });
    this.ctx.events.emit('log', line);
  }
}
