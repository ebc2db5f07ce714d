/**
 * The connector worker: `sluice worker --pipeline P` for a spout with `spout.connector`. No user
 * code runs; this process reads the source itself, so it stays confined by the pipeline's token
 * to its own repo, and talks to the daemon only through the SDK, as every worker does.
 *
 * States, as the spout worker's: starting -> running -> (backoff -> starting)* -> stopping.
 * - starting: the marker (`/<spout.marker>` on the `marker` branch, default `/position`) is read
 *   and the source opened after the position it holds (the spec's `start` on the first run);
 * - running: messages are read into batches (`spout.batch.max_messages`, or `max_delay` after the
 *   batch's first message), each batch is ONE commit on the output branch with the source's
 *   new position as the marker in the same transaction (DESIGN invariant 4), and only then is
 *   the source told (`committed`: acks for sources that acknowledge). Batches are committed
 *   strictly one after the other, so downstream pipelines get one job per batch;
 * - backoff: the source failed (broker unreachable, auth refused, a missing stream) or a commit
 *   was refused. The pipeline is reported `crashing` with the broker's own reason, the source is
 *   closed, and after 0.5 s doubling to 15 s the worker starts again from the marker: whatever
 *   was read but not committed is read again. Once a source opens again: `running`;
 * - stopping: `signal` aborted; the batch in progress is dropped (never half committed).
 */
import { performance } from 'node:perf_hooks';
import type { PipelineInfo } from '../../api/pps-types.js';
import type { CommitRef } from '../../api/types.js';
import { isSluiceError, SluiceError } from '../../errors/index.js';
import { cleanPath } from '../../lib/paths.js';
import { parseDuration, type Spout, type SpoutConnector } from '../../pps/spec/index.js';
import { LogShipper } from '../log-shipper.js';
import { backoffDelay, DAEMON_RETRY, retry, sleep, type RetryPolicy } from '../retry-policy.js';
import { ArchiveCommitter, type CommittedArchive } from '../spout/archive-committer.js';
import { MARKER_BRANCH } from '../spout/marker.js';
import type { SpoutClient } from '../spout/spout-client.js';
import { inspectOwnPipeline, SPOUT_RESTART, StateReporter, type SpoutRestartPolicy, type SpoutWorkerState } from '../spout-worker.js';
import { layOut, type BatchFormat } from './batch-layout.js';
import { connectorKind, connectorName, errorText, type ConnectorContext, type ConnectorSource, type Json } from './connector-source.js';
import { openConnectorSource } from './sources.js';

/** The default marker file of a connector spout. */
export const CONNECTOR_MARKER = '/position';
/** How long one read waits before the loop looks at the signal again. */
const POLL_MS = 500;

export interface ConnectorClient extends SpoutClient {
  getFileBuffer(repo: string, ref: string, path: string): Promise<Buffer>;
}

export interface ConnectorWorkerOptions {
  pipeline: string;
  workerId: string;
  client: ConnectorClient;
  signal: AbortSignal;
  /** The worker's environment (`password_env` is read from it; default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  retry?: RetryPolicy;
  restart?: SpoutRestartPolicy;
  /** Makes the source (tests pass their own); default: the built-in one the spec names. */
  makeSource?: (connector: SpoutConnector, ctx: ConnectorContext) => Promise<ConnectorSource>;
  onStateChange?: (state: SpoutWorkerState) => void;
  onCommit?: (commit: CommittedArchive & { messages: number }) => void;
  onWarning?: (message: string) => void;
}

/** What the worker needs from the normalized spec. */
export interface ConnectorSpec {
  connector: SpoutConnector;
  format: BatchFormat;
  maxMessages: number;
  maxDelayMs: number;
  marker: string;
  outputBranch: string;
  specCommit: CommitRef;
}

/** Reads the connector fields from `inspectPipeline`'s normalized spec (defaults applied). */
export function connectorSpec(info: PipelineInfo): ConnectorSpec {
  // The daemon stores the spec after decode + defaults + validation: `spout` is a Spout.
  const spout = info.spec.spout as Spout | undefined;
  const connector = spout?.connector;
  if (spout === undefined || connector === undefined) throw new SluiceError('INVALID_ARGUMENT', `pipeline ${info.name} is not a connector spout`);
  const delay = parseDuration(spout.batch?.maxDelay || '200ms');
  return {
    connector,
    format: connector.format === 'jsonl' ? 'jsonl' : 'files',
    maxMessages: spout.batch?.maxMessages || 1000,
    maxDelayMs: 'error' in delay ? 200 : delay.ms,
    marker: spout.marker === '' ? CONNECTOR_MARKER : cleanPath(spout.marker),
    outputBranch: info.outputBranch,
    specCommit: info.specCommit,
  };
}

/** The marker's content, or null when there is none yet (or it was emptied by --reprocess). */
async function readMarker(client: ConnectorClient, repo: string, path: string): Promise<{ connector: string; state: Json } | null> {
  let head: string | null;
  try {
    head = (await client.inspectBranch(repo, MARKER_BRANCH)).head;
  } catch (err) {
    if (isSluiceError(err, 'PFS_BRANCH_NOT_FOUND')) return null;
    throw err;
  }
  if (head === null) return null;
  let text: string;
  try {
    text = (await client.getFileBuffer(repo, head, path)).toString('utf8');
  } catch (err) {
    if (isSluiceError(err, 'PFS_FILE_NOT_FOUND')) return null;
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as { connector?: unknown; state?: Json };
    if (typeof parsed.connector !== 'string' || parsed.state === undefined) throw new Error('no connector/state fields');
    return { connector: parsed.connector, state: parsed.state };
  } catch (err) {
    throw new SluiceError('PPS_CONNECTOR_FAILED', `the marker ${repo}@${MARKER_BRANCH}:${path} (commit ${head}) is not a connector position: ${errorText(err)}`);
  }
}

/**
 * Runs the connector for ever, one commit per batch, until `signal` aborts.
 * @example
 * ```ts
 * await runConnectorWorker({ pipeline: 'events', workerId: 'events-0', client: new Client(), signal });
 * ```
 */
export async function runConnectorWorker(opts: ConnectorWorkerOptions): Promise<void> {
  const { pipeline, workerId, client, signal } = opts;
  const policy = opts.retry ?? DAEMON_RETRY;
  const restart = opts.restart ?? SPOUT_RESTART;
  const warn = (m: string): void => opts.onWarning?.(m);
  const setState = (s: SpoutWorkerState): void => opts.onStateChange?.(s);
  const logs = new LogShipper({ pipeline, worker: workerId, sink: client, onWarning: warn });
  const system = (message: string): void => logs.push({ job: null, datum: null, stream: 'system', message });
  let unreachableWarned = false;
  const onRetry = (err: unknown, attempt: number, delayMs: number): void => {
    if (!unreachableWarned) warn(`cannot reach the daemon (${errorText(err)}); retrying (attempt ${attempt}, next in ${delayMs} ms)`);
    unreachableWarned = true;
  };

  let committer: ArchiveCommitter | undefined;
  try {
    const info = await inspectOwnPipeline(client, pipeline, { policy, signal, onRetry, warn });
    if (info === undefined) return;
    const spec = connectorSpec(info);
    const kind = connectorKind(spec.connector);
    const name = connectorName(kind);
    const ctx: ConnectorContext = { pipeline, env: opts.env ?? process.env, maxMessages: spec.maxMessages };
    const makeSource = opts.makeSource ?? openConnectorSource;
    const active = new ArchiveCommitter({
      uploads: client,
      repo: pipeline,
      branch: spec.outputBranch,
      provenance: [spec.specCommit],
      overwrite: spec.format === 'files',
      marker: spec.marker,
      retry: policy,
      signal,
      onRetry,
    });
    committer = active;
    const reporter = new StateReporter(client, pipeline, workerId, policy, signal, warn);
    system(
      `spout version ${info.version}: connector ${name}, no user code; each batch (${spec.maxMessages} messages or ${spec.maxDelayMs} ms after its first) ` +
        `is one commit on ${pipeline}@${spec.outputBranch} (${spec.format === 'files' ? 'a file per message' : 'jsonl, a file per day'}), its position at ${pipeline}@${MARKER_BRANCH}:${spec.marker} in the same transaction`,
    );

    const commitBatch = async (messages: Parameters<typeof layOut>[0], state: Json): Promise<CommittedArchive> => {
      const mtime = Math.floor(Date.now() / 1000);
      const put = async (path: string, data: Buffer): Promise<void> => {
        await active.entryStart({ path, name: path.slice(1), type: 'file', size: data.length, mode: 0o644, mtime, offset: 0 });
        await active.entryData(data);
        await active.entryEnd();
      };
      active.begin();
      try {
        for (const f of layOut(messages, spec.format)) await put(f.path, f.data);
        await put(spec.marker, Buffer.from(`${JSON.stringify({ connector: name, state })}\n`));
        return await active.commit(await active.stage());
      } catch (err) {
        active.abort();
        throw err;
      }
    };

    let run = 0;
    let failures = 0;
    while (!signal.aborted) {
      run++;
      setState({ kind: 'starting', run });
      const started = performance.now();
      let source: ConnectorSource | undefined;
      let commits = 0;
      try {
        const marker = await retry(policy, signal, () => readMarker(client, pipeline, spec.marker), { onRetry });
        unreachableWarned = false;
        let state: Json | null = marker?.state ?? null;
        if (marker !== null && marker.connector !== name) {
          system(`the marker holds a ${marker.connector} position, and this spout now reads ${name}: starting at the spec's start position`);
          state = null;
        }
        source = await makeSource(spec.connector, ctx);
        await source.open(state, signal);
        signal.throwIfAborted();
        setState({ kind: 'running', run });
        reporter.report('running');
        system(`connected (run ${run}): ${source.describe()}; ${state === null ? 'no marker yet, from the start position' : `resuming after ${JSON.stringify(state)}`}`);
        for (;;) {
          const batch = await source.read(spec.maxMessages, POLL_MS, signal);
          if (signal.aborted) break;
          if (batch.length === 0) continue;
          const deadline = performance.now() + spec.maxDelayMs;
          while (batch.length < spec.maxMessages && source.stalled?.() !== true) {
            const left = deadline - performance.now();
            if (left <= 0) break;
            batch.push(...(await source.read(spec.maxMessages - batch.length, left, signal)));
            if (signal.aborted) break;
          }
          if (signal.aborted) break; // the batch in progress is dropped: read again next time
          const done = await commitBatch(batch, source.state());
          commits++;
          failures = 0;
          await source.committed();
          opts.onCommit?.({ ...done, messages: batch.length });
        }
      } catch (err) {
        if (signal.aborted) break;
        const durationMs = Math.round(performance.now() - started);
        if (durationMs >= restart.resetAfterMs) failures = 0;
        failures++;
        const delayMs = backoffDelay(restart.delays, failures);
        const reason = `${name}: ${errorText(err)}`;
        system(`${reason} (run ${run}, after ${durationMs} ms and ${commits} commits); starting again from the marker in ${delayMs} ms`);
        reporter.report('crashing', `${reason}\nrestarting in ${delayMs} ms`);
        setState({ kind: 'backoff', run, delayMs, reason });
        await source?.close().catch(() => undefined);
        source = undefined;
        try {
          await sleep(delayMs, signal);
        } catch {
          break;
        }
      } finally {
        await source?.close().catch(() => undefined);
      }
    }
  } finally {
    setState({ kind: 'stopping' });
    await committer?.close();
    await logs.close(2_000);
  }
}
