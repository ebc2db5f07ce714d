/**
 * The pps layer: pipelines, jobs, datums, logs, cron, and the controller that ties them to pfs
 * events and to the executor. `openPps` wires it; `start()` recovers after a restart (running
 * datums back to the queue, input commits missed while down made into jobs, workers started);
 * `close()` stops workers and timers.
 */
import type { Pfs } from '../pfs/index.js';
import type { CommitInfo } from '../api/types.js';
import { CronService } from './cron.js';
import type { Executor } from './executor.js';
import { JobService } from './jobs.js';
import { LogService } from './logs.js';
import { leafInputs, pipelineType, PipelineService } from './pipelines.js';
import { PpsContext } from './pps-context.js';
import type { ValidPipelineSpec } from './spec/index.js';

export interface Pps {
  ctx: PpsContext;
  pipelines: PipelineService;
  jobs: JobService;
  logs: LogService;
  cron: CronService;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function openPps(pfs: Pfs, executor: Executor): Pps {
  const ctx = new PpsContext(pfs, executor, pfs.ctx.now);
  const pipelines = new PipelineService(ctx);
  const jobs = new JobService(ctx, pipelines);
  const logs = new LogService(ctx);
  const cron = new CronService(ctx);

  /** Brings workers and timers in line with the pipeline's row. */
  const reconcile = async (name: string): Promise<void> => {
    const row = await pipelines.row(name);
    if (row === undefined) {
      cron.stop(name);
      await executor.stop(name);
      return;
    }
    const spec = JSON.parse(row.spec) as ValidPipelineSpec;
    if (row.stopped === 1) {
      cron.stop(name);
      await executor.stop(name);
      return;
    }
    const type = pipelineType(spec);
    cron.start(name, spec);
    executor.ensure({
      pipeline: name,
      version: row.version,
      kind: type === 'spout' ? 'spout' : 'transform',
      count: type === 'spout' ? 1 : Math.max(1, spec.parallelismSpec?.constant ?? 1),
    });
  };

  pipelines.setHooks({
    async afterChange(name, jobId) {
      await reconcile(name);
      if (jobId !== null) await jobs.jobForHeads(name, jobId);
      else await jobs.advance(name);
    },
    async beforeDelete(name) {
      cron.stop(name);
      await executor.stop(name);
      for (const j of await jobs.list({ pipeline: name })) {
        if (j.state === 'running' || j.state === 'created') await jobs.stopJob(name, j.id).catch(() => undefined);
      }
    },
  });

  executor.setObserver({
    onCrashing(name, reason) {
      void pipelines.setState(name, 'crashing', reason).catch(() => undefined);
    },
    onWorkerRestart(name) {
      ctx.meter.workerRestarted(name);
    },
    onRecovered(name) {
      void pipelines.row(name).then((r) => (r !== undefined && r.stopped === 0 ? pipelines.setState(name, 'running') : undefined)).catch(() => undefined);
    },
  });

  ctx.events.on('jobEnded', (info) => {
    void pipelines.noteJobEnded(info.pipeline, info.id, info.state, info.reason).catch(() => undefined);
  });

  // Every finished commit may be an input of some pipeline.
  const onCommit = (info: CommitInfo): void => {
    void (async () => {
      const rows = await ctx.db.selectFrom('pipelines').select(['name', 'spec']).execute();
      for (const r of rows) {
        const spec = JSON.parse(r.spec) as ValidPipelineSpec;
        if (leafInputs(spec.input).some((l) => l.repo === info.repo && l.branch === info.branch)) await jobs.scan(r.name);
      }
    })().catch(() => undefined);
  };

  let sweeper: NodeJS.Timeout | undefined;

  return {
    ctx,
    pipelines,
    jobs,
    logs,
    cron,
    async start() {
      await jobs.recover();
      pfs.ctx.events.on('commitFinished', onCommit);
      for (const r of await ctx.db.selectFrom('pipelines').select('name').execute()) {
        await reconcile(r.name);
        await jobs.scan(r.name);
        await jobs.advance(r.name);
      }
      sweeper = setInterval(() => void jobs.sweepOrphans().catch(() => undefined), 5_000);
      sweeper.unref();
    },
    async close() {
      clearInterval(sweeper);
      pfs.ctx.events.off('commitFinished', onCommit);
      cron.stopAll();
      await executor.stopAll();
    },
  };
}

export { LocalExecutor } from './local-executor.js';
export { NoopExecutor, type Executor } from './executor.js';
