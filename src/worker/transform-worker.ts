/**
 * The transform worker: the long-running loop behind `sluice worker --pipeline P --worker-id W`.
 * It talks to the daemon only through the SDK (DESIGN: "Workers talk to the daemon only through
 * the SDK"), so the same loop runs as a local child process or in a Kubernetes pod.
 *
 * States (explicit, reported through `onStateChange`):
 *   idle -> claiming -> running -> idle -> …   and from any of them -> stopping
 * - claiming: a long poll (`claimDatum` with `waitMs`): the daemon answers the moment a datum
 *   is ready, which is what keeps trigger latency low, so there is no sleep between claims. An
 *   empty answer that comes back early (a daemon that will not hold the request) is backed off,
 *   so a misbehaving daemon cannot make the worker spin.
 *   With a client that has `reportDatumAndClaim` (the SDK's does), the report also brings the
 *   next datum when one is pending, and the worker goes from idle straight to running it.
 * - running: `runDatum`, then its logs are flushed and the result reported. Transient daemon
 *   failures (connection refused, 503) are retried by `DAEMON_RETRY` (unbounded, 100 ms doubling
 *   to 5 s, jittered): a claim, a datum whose download/upload was cut, a report. Any other
 *   error while running a datum is reported as that datum's failure.
 * - stopping: `signal` aborted. User code of a running datum is killed (SIGTERM, then SIGKILL)
 *   and its result is not reported: the datum stays claimed by a worker that is going away,
 *   which the daemon must handle anyway for a worker killed with -9. Logs are flushed (bounded).
 *
 * The function returns when the signal aborts or the pipeline no longer exists; it throws on a
 * failure waiting cannot fix (the token refused, no way to isolate user code), so the process
 * exits non-zero and the executor reports the pipeline as crashing.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatumTask } from '../api/pps-types.js';
import { isSluiceError } from '../errors/index.js';
import { defaultScratchRoot, runDatum } from './datum-runner.js';
import { detectDriver } from './detect-driver.js';
import { LogShipper } from './log-shipper.js';
import { inClusterVariables, PACHCTL_CONFIG_PATH, writePachctlConfig } from './pachyderm-env.js';
import type { PachydermClientEnv } from './user-code-env.js';
import { backoffDelay, DAEMON_RETRY, retry, sleep, type RetryPolicy } from './retry-policy.js';
import type { UserCodeDriver } from './user-code-driver.js';
import type { WorkerClient, WorkerDatumResult } from './worker-client.js';

export type TransformWorkerState =
  | { kind: 'idle' }
  | { kind: 'claiming' }
  | { kind: 'running'; job: string; datum: string; attempt: number }
  | { kind: 'stopping' };

export interface TransformWorkerOptions {
  pipeline: string;
  workerId: string;
  /** The SDK client (with the pipeline's token); `Client` fits. */
  client: WorkerClient;
  /** How user code is run; default `detectDriver()`. */
  driver?: UserCodeDriver;
  signal: AbortSignal;
  /** How long each claim may be held open by the daemon (default 25 s). */
  claimWaitMs?: number;
  /** Retries of transient daemon failures (default `DAEMON_RETRY`). */
  retry?: RetryPolicy;
  /** Parent of the per-datum scratch folders (default `<tmp>/sluice-worker-<workerId>`). */
  scratchRoot?: string;
  /** The worker's environment, from which user code's `PATH`, `HOME`, … come (default `process.env`). */
  workerEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * The daemon's address as the worker reaches it: when set, user code gets `/pachctl/config.json`
   * and the variables Pachyderm's clients read to find the daemon (pachyderm-env.ts).
   */
  daemonAddress?: string;
  /** The pipeline's token, written into that config. */
  token?: string;
  onStateChange?: (state: TransformWorkerState) => void;
  /** Problems worth telling the operator (the CLI prints them on stderr). */
  onWarning?: (message: string) => void;
}

/** An empty claim answered faster than this was not held by the daemon; back off before the next. */
const EARLY_EMPTY_CLAIM_MS = 1_000;

/** The line that tells the pipeline's logs what the local executor does with the spec. */
export function executorNotice(task: DatumTask, driverName: string): string {
  const t = task.transform;
  let msg =
    `the local executor runs transform.cmd ${JSON.stringify(t.cmd)} on the host, in a private mount namespace (${driverName}); ` +
    `transform.image ${JSON.stringify(t.image)} is recorded but not used`;
  if (t.user !== '') msg += `; transform.user ${JSON.stringify(t.user)} is not applied (user code runs as the worker's user)`;
  return msg;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Claims, runs and reports the pipeline's datums until `signal` aborts.
 * @example
 * ```ts
 * const ac = new AbortController();
 * process.once('SIGTERM', () => ac.abort());
 * await runTransformWorker({ pipeline: 'edges', workerId: 'edges-0', client: new Client(), signal: ac.signal });
 * ```
 */
export async function runTransformWorker(opts: TransformWorkerOptions): Promise<void> {
  const { pipeline, workerId, client, signal } = opts;
  const policy = opts.retry ?? DAEMON_RETRY;
  const waitMs = opts.claimWaitMs ?? 25_000;
  const scratchRoot = opts.scratchRoot ?? defaultScratchRoot(workerId);
  const setState = (s: TransformWorkerState): void => opts.onStateChange?.(s);
  const warn = (m: string): void => opts.onWarning?.(m);

  const logs = new LogShipper({ pipeline, worker: workerId, sink: client, onWarning: warn });
  let unreachableWarned = false;
  const onRetry = (err: unknown, attempt: number, delayMs: number): void => {
    if (!unreachableWarned) warn(`cannot reach the daemon (${errorMessage(err)}); retrying (attempt ${attempt}, next in ${delayMs} ms)`);
    unreachableWarned = true;
  };
  const reachable = (): void => {
    if (unreachableWarned) warn('the daemon is reachable again');
    unreachableWarned = false;
  };

  try {
    const driver = opts.driver ?? (await detectDriver());
    // Scratch folders of a previous incarnation of this worker (killed mid-datum) are stale.
    await rm(scratchRoot, { recursive: true, force: true });
    const clients = opts.daemonAddress === undefined ? undefined : await clientEnv(scratchRoot, opts.daemonAddress, opts.token);
    let announcedJob: string | null = null;
    let earlyEmpty = 0;
    // The datum the daemon handed over with the last report (report and claim in one round
    // trip); null: claim as usual.
    let next: DatumTask | null = null;

    while (!signal.aborted) {
      let task: DatumTask | null = next;
      next = null;
      if (task === null) {
        setState({ kind: 'claiming' });
        const asked = Date.now();
        try {
          task = await retry(policy, signal, () => client.claimDatum(pipeline, { worker: workerId, waitMs }, signal), { onRetry });
        } catch (err) {
          if (signal.aborted) break;
          if (isSluiceError(err, 'PPS_PIPELINE_NOT_FOUND')) {
            warn(`pipeline ${pipeline} no longer exists; the worker stops`);
            return;
          }
          throw err;
        }
        reachable();
        if (task === null) {
          earlyEmpty = Date.now() - asked < Math.min(EARLY_EMPTY_CLAIM_MS, waitMs) ? earlyEmpty + 1 : 0;
          if (earlyEmpty > 0) {
            try {
              await sleep(backoffDelay(policy, earlyEmpty), signal);
            } catch {
              break;
            }
          }
          continue;
        }
        earlyEmpty = 0;
      }

      setState({ kind: 'running', job: task.job, datum: task.datum, attempt: task.attempt });
      if (task.job !== announcedJob) {
        logs.push({ job: task.job, datum: task.datum, stream: 'system', message: executorNotice(task, driver.name) });
        announcedJob = task.job;
      }
      const result = await processDatum(task, { ...opts, driver, scratchRoot, logs, policy, onRetry, ...(clients !== undefined ? { clients } : {}) });
      if (result === null) break; // aborted mid-datum
      // The datum's lines first, so `logs --job` is complete when the job is seen to finish.
      await logs.flush(2_000);
      try {
        // With the combined call the daemon may hand over the next datum, claimed for this
        // worker: from here on it is held exactly like a datum whose claim answer arrived, so a
        // worker stopped or killed now leaves it to the daemon's sweep of gone workers, as before.
        const report = client.reportDatumAndClaim?.bind(client);
        if (report !== undefined) next = await retry(policy, signal, () => report(pipeline, result), { onRetry });
        else await retry(policy, signal, () => client.reportDatum(pipeline, result), { onRetry });
      } catch (err) {
        if (signal.aborted) break;
        // The daemon refused the report (the job was stopped, the datum reassigned): nothing to
        // retry; the next claim says what to do.
        warn(`the daemon refused the result of datum ${task.datum} of job ${task.job}: ${errorMessage(err)}`);
      }
      reachable();
      setState({ kind: 'idle' });
    }
  } finally {
    setState({ kind: 'stopping' });
    await logs.close(2_000);
    await rm(scratchRoot, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Host folder (under the scratch root; datum folders are named by hashes, never like this). */
const CLIENT_ENV_DIR = '.pachyderm-env';

async function clientEnv(scratchRoot: string, daemonAddress: string, token: string | undefined): Promise<PachydermClientEnv> {
  const creds = { daemonAddress, ...(token !== undefined ? { token } : {}) };
  const { bind } = await writePachctlConfig(join(scratchRoot, CLIENT_ENV_DIR), 'pipeline', creds);
  return { binds: [bind], vars: { ...inClusterVariables(creds), PACH_CONFIG: PACHCTL_CONFIG_PATH } };
}

interface ProcessDeps extends TransformWorkerOptions {
  clients?: PachydermClientEnv;
  driver: UserCodeDriver;
  scratchRoot: string;
  logs: LogShipper;
  policy: RetryPolicy;
  onRetry: (err: unknown, attempt: number, delayMs: number) => void;
}

/** One datum, retried while the daemon is unreachable; null when the signal aborted. */
async function processDatum(task: DatumTask, d: ProcessDeps): Promise<WorkerDatumResult | null> {
  const started = Date.now();
  const timed = (r: WorkerDatumResult): WorkerDatumResult => ({ ...r, durationMs: Date.now() - started });
  try {
    return timed(await retry(
      d.policy,
      d.signal,
      () =>
        runDatum(
          task,
          {
            client: d.client, driver: d.driver, worker: d.workerId, logs: d.logs, scratchRoot: d.scratchRoot,
            ...(d.workerEnv !== undefined ? { workerEnv: d.workerEnv } : {}),
            ...(d.clients !== undefined ? { clients: d.clients } : {}),
          },
          d.signal,
        ),
      { onRetry: d.onRetry },
    ));
  } catch (err) {
    if (d.signal.aborted) return null;
    // Not the user's code and not the network: the worker itself (a full disk, the sandbox
    // tool gone). Reported, so the job fails with a reason instead of waiting for ever.
    return timed({ worker: d.workerId, job: task.job, datum: task.datum, success: false, reason: `datum ${task.datum} failed: worker error: ${errorMessage(err)}` });
  }
}
