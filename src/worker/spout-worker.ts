/**
 * The spout worker: the loop behind `sluice worker --pipeline P` for a spout (spouts 1.0, the
 * named pipe carrying tar archives, and the spouts-2.0 environment in which user code calls
 * `pachctl put file` itself). It talks to the daemon only through the SDK.
 *
 * States (explicit, reported through `onStateChange`):
 *   starting -> running -> backoff -> starting -> …   and from any of them -> stopping
 * - starting: a fresh pipe and scratch folder, the latest marker fetched (spout/spout-run.ts);
 * - running: user code runs for ever; each complete archive it writes to `/pfs/out` becomes one
 *   commit on the output branch (with its marker on the `marker` branch in the same transaction),
 *   strictly one after the other, so the branch head is never an open commit and downstream
 *   pipelines get one job per archive;
 * - backoff: the user code exited (zero or not), an archive was refused, or one could not be
 *   stored. It is started again after 0.5 s doubling to 15 s (`SPOUT_RESTART`), reset once a run
 *   has lasted 30 s. While runs keep failing the pipeline is reported `crashing` with the reason
 *   (exit code and the last lines of stderr, or what was wrong with the archive); once a run
 *   has lasted a few seconds or has produced a commit it is reported `running` again;
 * - stopping: `signal` aborted. The user code is killed (the driver takes its whole process
 *   tree), the archive in progress is dropped and its uploads aborted (nothing is half
 *   committed), logs are flushed (bounded), the scratch folder removed.
 *
 * The spec is read once: `update pipeline` makes the executor replace this worker with a new
 * one, which starts the new code with the marker kept. The function returns when the signal
 * aborts or the pipeline no longer exists; it throws on a failure waiting cannot fix (the
 * pipeline is not a spout, user code cannot be isolated here).
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineInfo, WorkerStateReport } from '../api/pps-types.js';
import { isSluiceError, SluiceError } from '../errors/index.js';
import { packageRoot } from '../lib/version.js';
import { safeSegment } from './datum-runner.js';
import { detectDriver } from './detect-driver.js';
import { LogShipper } from './log-shipper.js';
import { backoffDelay, DAEMON_RETRY, retry, sleep, type RetryPolicy } from './retry-policy.js';
import type { UserCodeDriver } from './user-code-driver.js';
import { ArchiveCommitter, type CommittedArchive } from './spout/archive-committer.js';
import { markerPath } from './spout/marker.js';
import type { SpoutClient } from './spout/spout-client.js';
import { prepareSpoutEnvironment, spoutUserCodeEnv } from './spout/spout-env.js';
import { describeOutcome, runSpoutOnce, type SpoutProgram, type SpoutRunOutcome } from './spout/spout-run.js';

export type SpoutWorkerState =
  | { kind: 'starting'; run: number }
  | { kind: 'running'; run: number }
  | { kind: 'backoff'; run: number; delayMs: number; reason: string }
  | { kind: 'stopping' };

/** How user code is restarted: delays as a policy, plus when a run counts as healthy. */
export interface SpoutRestartPolicy {
  /** Delays between runs (`maxAttempts` and `retryable` are not used). */
  delays: RetryPolicy;
  /** A run that lasted this long resets the delay to its first step. */
  resetAfterMs: number;
  /** A run that lasts this long (or commits) makes the pipeline `running`. */
  healthyAfterMs: number;
}

/** 0.5 s doubling to 15 s, reset after a 30 s run; healthy after 3 s (as the local executor). */
export const SPOUT_RESTART: SpoutRestartPolicy = {
  delays: { maxAttempts: null, initialDelayMs: 500, factor: 2, maxDelayMs: 15_000, jitter: 0, retryable: () => true },
  resetAfterMs: 30_000,
  healthyAfterMs: 3_000,
};

export interface SpoutWorkerOptions {
  pipeline: string;
  workerId: string;
  /** The SDK client (with the pipeline's token); `Client` fits. */
  client: SpoutClient;
  /** The daemon's address as this worker reaches it; written into the user code's config. */
  daemonAddress: string;
  /** The pipeline's token, if any; written into the user code's config. */
  token?: string;
  /** How user code is run; default `detectDriver()`. */
  driver?: UserCodeDriver;
  signal: AbortSignal;
  /** Retries of transient daemon failures (default `DAEMON_RETRY`). */
  retry?: RetryPolicy;
  /** User code restarts (default `SPOUT_RESTART`). */
  restart?: SpoutRestartPolicy;
  /** The worker's scratch folder (default `<tmp>/sluice-spout-<workerId>`). */
  scratchRoot?: string;
  /** The worker's environment, from which user code's `PATH`, `HOME`, … come (default `process.env`). */
  workerEnv?: Readonly<Record<string, string | undefined>>;
  /** The node binary and CLI entry point of the `pachctl`/`sluice` shims (default: this install). */
  nodePath?: string;
  cliPath?: string;
  onStateChange?: (state: SpoutWorkerState) => void;
  /** Each archive committed (tests, benchmarks). */
  onCommit?: (archive: CommittedArchive) => void;
  /** Problems worth telling the operator (the CLI prints them on stderr). */
  onWarning?: (message: string) => void;
}

/** What the worker needs from the normalized spec. */
export interface SpoutSpec {
  program: SpoutProgram;
  env: Record<string, string>;
  image: string;
  overwrite: boolean;
  /** `spout.marker` as a clean repo path, or undefined. */
  marker: string | undefined;
  outputBranch: string;
  specCommit: { repo: string; id: string };
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** Reads the spout's fields from `inspectPipeline`'s normalized spec. */
export function spoutSpec(info: PipelineInfo): SpoutSpec {
  const bad = (what: string): SluiceError => new SluiceError('INTERNAL', `pipeline ${info.name}: the daemon's spec has no valid ${what}`);
  if (info.type !== 'spout') throw new SluiceError('INVALID_ARGUMENT', `pipeline ${info.name} is a ${info.type}, not a spout`);
  const t = info.spec.transform as Record<string, unknown> | undefined;
  const s = info.spec.spout as Record<string, unknown> | undefined;
  if (t === undefined || typeof t !== 'object' || s === undefined || typeof s !== 'object') throw bad('transform and spout');
  const cmd = strings(t.cmd);
  const stdin = strings(t.stdin) ?? [];
  const envIn = (t.env ?? {}) as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envIn)) if (typeof v === 'string') env[k] = v;
  if (cmd === undefined || cmd.length === 0) throw bad('transform.cmd');
  const marker = typeof s.marker === 'string' ? s.marker : '';
  return {
    program: { cmd, stdin, workingDir: typeof t.workingDir === 'string' ? t.workingDir : '' },
    env,
    image: typeof t.image === 'string' ? t.image : '',
    overwrite: s.overwrite === true,
    marker: markerPath(marker),
    outputBranch: info.outputBranch,
    specCommit: info.specCommit,
  };
}

/** Sends state reports one at a time, in order, retrying while the daemon is away; the latest wins. */
export class StateReporter {
  private pending: WorkerStateReport | undefined;
  private lastSent: WorkerStateReport['state'] | undefined;
  private sending: Promise<void> | undefined;

  constructor(
    private readonly client: SpoutClient,
    private readonly pipeline: string,
    private readonly worker: string,
    private readonly policy: RetryPolicy,
    private readonly signal: AbortSignal,
    private readonly warn: (m: string) => void,
  ) {}

  report(state: WorkerStateReport['state'], reason?: string): void {
    if (state === 'running' && this.pending === undefined && this.lastSent === 'running') return;
    this.pending = { worker: this.worker, state, ...(reason !== undefined ? { reason } : {}) };
    this.sending ??= this.pump().finally(() => {
      this.sending = undefined;
    });
  }

  private async pump(): Promise<void> {
    while (this.pending !== undefined && !this.signal.aborted) {
      const r = this.pending;
      this.pending = undefined;
      try {
        await retry(this.policy, this.signal, () => this.client.reportWorkerState(this.pipeline, r));
        this.lastSent = r.state;
      } catch (err) {
        if (!this.signal.aborted) this.warn(`cannot report the state ${r.state}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/**
 * Runs the spout's user code for ever, committing what it writes, until `signal` aborts.
 * @example
 * ```ts
 * const ac = new AbortController();
 * process.once('SIGTERM', () => ac.abort());
 * await runSpoutWorker({ pipeline: 'events', workerId: 'events-0', client: new Client(), daemonAddress: '127.0.0.1:30650', signal: ac.signal });
 * ```
 */
export async function runSpoutWorker(opts: SpoutWorkerOptions): Promise<void> {
  const { pipeline, workerId, client, signal } = opts;
  const policy = opts.retry ?? DAEMON_RETRY;
  const restart = opts.restart ?? SPOUT_RESTART;
  const scratchRoot = opts.scratchRoot ?? join(tmpdir(), `sluice-spout-${safeSegment(workerId)}`);
  const setState = (s: SpoutWorkerState): void => opts.onStateChange?.(s);
  const warn = (m: string): void => opts.onWarning?.(m);
  const logs = new LogShipper({ pipeline, worker: workerId, sink: client, onWarning: warn });
  const system = (message: string): void => logs.push({ job: null, datum: null, stream: 'system', message });

  let unreachableWarned = false;
  const onRetry = (err: unknown, attempt: number, delayMs: number): void => {
    if (!unreachableWarned) warn(`cannot reach the daemon (${err instanceof Error ? err.message : String(err)}); retrying (attempt ${attempt}, next in ${delayMs} ms)`);
    unreachableWarned = true;
  };

  let committer: ArchiveCommitter | undefined;
  try {
    const info = await inspectOwnPipeline(client, pipeline, { policy, signal, onRetry, warn });
    if (info === undefined) return;
    unreachableWarned = false;
    const spec = spoutSpec(info);
    const driver = opts.driver ?? (await detectDriver());
    // A previous incarnation of this worker (killed) may have left its folders.
    await rm(scratchRoot, { recursive: true, force: true });
    const environment = await prepareSpoutEnvironment({
      dir: join(scratchRoot, 'env'),
      daemonAddress: opts.daemonAddress,
      ...(opts.token !== undefined ? { token: opts.token } : {}),
      nodePath: opts.nodePath ?? process.execPath,
      cliPath: opts.cliPath ?? join(packageRoot(), 'bin', 'sluice.js'),
    });
    const env = spoutUserCodeEnv({
      pipeline, specCommit: spec.specCommit.id, outputBranch: spec.outputBranch, transformEnv: spec.env,
      daemonAddress: opts.daemonAddress, ...(opts.token !== undefined ? { token: opts.token } : {}),
      ...(opts.workerEnv !== undefined ? { workerEnv: opts.workerEnv } : {}),
    });
    const activeCommitter = new ArchiveCommitter({
      uploads: client,
      repo: pipeline,
      branch: spec.outputBranch,
      provenance: [spec.specCommit],
      overwrite: spec.overwrite,
      marker: spec.marker,
      retry: policy,
      signal,
      onRetry,
    });
    committer = activeCommitter;
    const reporter = new StateReporter(client, pipeline, workerId, policy, signal, warn);
    system(
      `spout version ${info.version}: the local executor runs transform.cmd ${JSON.stringify(spec.program.cmd)} on the host, in a private mount namespace (${driver.name}); ` +
        `transform.image ${JSON.stringify(spec.image)} is recorded but not used. /pfs/out is a named pipe: each tar archive written to it is one commit on ${pipeline}@${spec.outputBranch}` +
        (spec.marker !== undefined ? `, entries at ${spec.marker} go to ${pipeline}@marker` : '') +
        `; pachctl is on PATH and PACH_CONFIG names this spout's context`,
    );

    let restarts = 0;
    let run = 0;
    while (!signal.aborted) {
      run++;
      const thisRun = run;
      setState({ kind: 'starting', run: thisRun });
      let healthy = false;
      const markHealthy = (): void => {
        if (healthy) return;
        healthy = true;
        reporter.report('running');
      };
      let healthTimer: NodeJS.Timeout | undefined;
      let outcome: SpoutRunOutcome | { kind: 'failed-start'; reason: string };
      try {
        outcome = await runSpoutOnce(
          {
            driver,
            committer: activeCommitter,
            logs,
            markers: client,
            repo: pipeline,
            marker: spec.marker,
            program: spec.program,
            env,
            readOnlyBinds: environment.binds,
            runDir: join(scratchRoot, `run-${thisRun}`),
            retry: policy,
            onRetry,
            onStart: (marker) => {
              setState({ kind: 'running', run: thisRun });
              const what = spec.marker === undefined ? '' : marker === null ? '; no marker yet' : `; marker from ${pipeline}@${marker.commit} (${marker.files} files, ${marker.bytes} bytes) at /pfs${spec.marker}`;
              system(`starting user code (run ${thisRun})${what}`);
              healthTimer = setTimeout(markHealthy, restart.healthyAfterMs);
            },
            onCommit: (archive) => {
              markHealthy();
              opts.onCommit?.(archive);
            },
          },
          signal,
        );
      } catch (err) {
        if (signal.aborted) break;
        outcome = { kind: 'failed-start', reason: `the spout could not start its user code: ${err instanceof Error ? err.message : String(err)}` };
      } finally {
        clearTimeout(healthTimer);
      }
      if (outcome.kind === 'aborted') break;

      const durationMs = outcome.kind === 'failed-start' ? 0 : outcome.durationMs;
      if (durationMs >= restart.resetAfterMs) restarts = 0;
      restarts++;
      const delayMs = backoffDelay(restart.delays, restarts);
      const what = outcome.kind === 'failed-start' ? outcome.reason : describeOutcome(outcome);
      const exitedCleanly = outcome.kind === 'exited' && outcome.result.exitCode === 0 && outcome.result.startError === null;
      const tail = outcome.kind === 'exited' && outcome.result.startError === null ? outcome.result.stderrTail.slice(-5) : [];
      const reason = `${what}${tail.length > 0 ? `; last lines of stderr:\n${tail.join('\n')}` : ''}\nrestarting in ${delayMs} ms`;
      system(`${what} after ${durationMs} ms (${outcome.kind === 'failed-start' ? 0 : outcome.commits} commits); restarting in ${delayMs} ms`);
      // A clean exit after a healthy run is a spout that polls and stops; anything else loops.
      if (!exitedCleanly || !healthy) reporter.report('crashing', reason);
      setState({ kind: 'backoff', run: thisRun, delayMs, reason });
      try {
        await sleep(delayMs, signal);
      } catch {
        break;
      }
    }
  } finally {
    setState({ kind: 'stopping' });
    await committer?.close();
    await logs.close(2_000);
    await rm(scratchRoot, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The worker's own pipeline, retried while the daemon is unreachable; undefined when the signal
 * aborted or the pipeline no longer exists (told to `warn`): either way the worker stops.
 * Shared by the spout and connector workers.
 */
export async function inspectOwnPipeline(
  client: Pick<SpoutClient, 'inspectPipeline'>,
  pipeline: string,
  o: { policy: RetryPolicy; signal: AbortSignal; onRetry: (err: unknown, attempt: number, delayMs: number) => void; warn: (m: string) => void },
): Promise<PipelineInfo | undefined> {
  try {
    return await retry(o.policy, o.signal, () => client.inspectPipeline(pipeline), { onRetry: o.onRetry });
  } catch (err) {
    if (o.signal.aborted) return undefined;
    if (isSluiceError(err, 'PPS_PIPELINE_NOT_FOUND')) {
      o.warn(`pipeline ${pipeline} no longer exists; the worker stops`);
      return undefined;
    }
    throw err;
  }
}
