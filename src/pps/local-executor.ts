/**
 * The local executor: each worker of a pipeline is a `sluice worker` child process talking to
 * the daemon over HTTP (as it would from a pod). A worker that exits is restarted with backoff
 * (0.5 s doubling to 15 s; reset once a worker has stayed up for 30 s). While workers keep
 * exiting the observer hears `onCrashing` with the reason (exit code and the last stderr lines);
 * when one stays up again, `onRecovered`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Executor, ExecutorObserver, WorkerSet } from './executor.js';

export const RESTART_POLICY = { initialMs: 500, maxMs: 15_000, factor: 2, resetAfterMs: 30_000, healthyAfterMs: 3_000 } as const;

export interface LocalExecutorOptions {
  /** argv to run the CLI (e.g. [process.execPath, '/path/bin/sluice.js']). */
  command: string[];
  /** The daemon's address (host:port), known once it listens. */
  address: () => string;
  /** Extra environment for a pipeline's workers (its token). */
  env?: (pipeline: string) => Promise<Record<string, string>>;
  /** Called when a worker process has exited, so its claimed work can be handed out again. */
  onWorkerExit?: (pipeline: string, workerId: string) => Promise<void> | void;
}

interface Supervised {
  id: string;
  proc: ChildProcess | undefined;
  stopping: boolean;
  restarts: number;
  startedAt: number;
  stderrTail: string[];
  timer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
  healthyTimer: NodeJS.Timeout | undefined;
}

interface PipelineWorkers {
  set: WorkerSet;
  workers: Supervised[];
  /** Workers of the previous version, still stopping: alive, and may still hold a datum. */
  retiring: Supervised[];
  crashing: boolean;
}

export class LocalExecutor implements Executor {
  private readonly pipelines = new Map<string, PipelineWorkers>();
  private observer: ExecutorObserver | undefined;

  constructor(private readonly opts: LocalExecutorOptions) {}

  setObserver(observer: ExecutorObserver): void {
    this.observer = observer;
  }

  ensure(set: WorkerSet): void {
    const cur = this.pipelines.get(set.pipeline);
    if (cur !== undefined && cur.set.version === set.version && cur.set.count === set.count && cur.set.kind === set.kind) return;
    const old = cur?.workers ?? [];
    const entry: PipelineWorkers = { set, workers: [], retiring: old, crashing: false };
    this.pipelines.set(set.pipeline, entry);
    // Replace: old workers are told to stop first; new ones start once they have gone, so a spout
    // never runs twice at once.
    void Promise.all(old.map((w) => this.stopWorker(w))).then(() => {
      entry.retiring = [];
      if (this.pipelines.get(set.pipeline) !== entry) return;
      for (let i = 0; i < set.count; i++) {
        const w = this.newWorker(`${set.pipeline}-v${set.version}-${i}`);
        entry.workers.push(w);
        void this.launch(entry, w);
      }
    });
  }

  async stop(pipeline: string): Promise<void> {
    const entry = this.pipelines.get(pipeline);
    this.pipelines.delete(pipeline);
    if (entry !== undefined) await Promise.all(entry.workers.map((w) => this.stopWorker(w)));
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.pipelines.keys()].map((p) => this.stop(p)));
  }

  running(pipeline: string): number {
    return this.pipelines.get(pipeline)?.workers.filter((w) => w.proc !== undefined && w.proc.exitCode === null).length ?? 0;
  }

  workerIds(pipeline: string): string[] {
    const entry = this.pipelines.get(pipeline);
    if (entry === undefined) return [];
    return [...entry.workers, ...entry.retiring].filter((w) => w.proc !== undefined && w.proc.exitCode === null && w.proc.signalCode === null).map((w) => w.id);
  }

  private newWorker(id: string): Supervised {
    return { id, proc: undefined, stopping: false, restarts: 0, startedAt: 0, stderrTail: [], timer: undefined, exited: Promise.resolve(), healthyTimer: undefined };
  }

  private async launch(entry: PipelineWorkers, w: Supervised): Promise<void> {
    if (w.stopping) return;
    const [cmd, ...args] = this.opts.command;
    const env = { ...process.env, PACHD_ADDRESS: this.opts.address(), ...(await this.opts.env?.(entry.set.pipeline)) };
    const proc = spawn(cmd!, [...args, 'worker', '--pipeline', entry.set.pipeline, '--worker-id', w.id], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    w.proc = proc;
    w.startedAt = Date.now();
    w.stderrTail = [];
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.trim() !== '') w.stderrTail.push(line);
      if (w.stderrTail.length > 20) w.stderrTail.splice(0, w.stderrTail.length - 20);
    });
    w.healthyTimer = setTimeout(() => {
      if (entry.crashing && proc.exitCode === null) {
        entry.crashing = false;
        this.observer?.onRecovered(entry.set.pipeline);
      }
    }, RESTART_POLICY.healthyAfterMs);
    w.exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        clearTimeout(w.healthyTimer);
        // Hand the worker's claimed datums back before anyone waiting on the exit goes on (a
        // daemon shutting down closes its database right after).
        void Promise.resolve(this.opts.onWorkerExit?.(entry.set.pipeline, w.id)).catch(() => undefined).finally(resolve);
        if (w.stopping || this.pipelines.get(entry.set.pipeline) !== entry) return;
        const upFor = Date.now() - w.startedAt;
        if (upFor > RESTART_POLICY.resetAfterMs) w.restarts = 0;
        const delay = Math.min(RESTART_POLICY.maxMs, RESTART_POLICY.initialMs * RESTART_POLICY.factor ** w.restarts);
        w.restarts++;
        const why = signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`;
        const reason = `worker ${w.id} exited (${why})${w.stderrTail.length > 0 ? `: ${w.stderrTail.slice(-3).join(' | ')}` : ''}; restarting in ${delay} ms`;
        entry.crashing = true;
        this.observer?.onWorkerRestart?.(entry.set.pipeline);
        this.observer?.onCrashing(entry.set.pipeline, reason);
        w.timer = setTimeout(() => void this.launch(entry, w), delay);
      });
    });
  }

  private async stopWorker(w: Supervised): Promise<void> {
    w.stopping = true;
    clearTimeout(w.timer);
    clearTimeout(w.healthyTimer);
    const proc = w.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await w.exited;
    clearTimeout(killer);
  }
}
