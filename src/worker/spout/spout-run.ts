/**
 * One start of a spout's user code, from a fresh pipe to the outcome (the spout worker loops
 * over these):
 *
 * 1. a fresh run folder: `pfs/` (bound as `/pfs`), a fresh FIFO at `pfs/out` whose read end is
 *    opened BEFORE the user code starts and held until the run is over (fifo-source.ts), and
 *    the latest marker at `pfs/<marker>` (retried while the daemon is unreachable);
 * 2. the user code runs through the driver while every archive it writes is streamed into
 *    uploads by the `ArchiveCommitter` and committed strictly in order (archive N is committed
 *    before archive N+1's commit starts; N+1 streams while N commits, which is what keeps a
 *    stream of small archives from paying two round trips each);
 * 3. the run ends one of three ways:
 *    - the user code exits: the pipe is drained (`FifoSource.end`), every complete archive in
 *      it is committed, a partial one is refused; outcome `exited` (or `refused`);
 *    - an archive is refused (bad framing, a link entry, a path that climbs) or cannot be
 *      stored (a put or commit refused, the daemon gone mid-archive): the archive is dropped,
 *      the user code is killed, the pipe is abandoned; outcome `refused`. Earlier archives stay
 *      committed. A restarted user code reads the marker again, so with a marker nothing is
 *      lost or repeated;
 *    - the signal aborts: the user code is killed, the archive in progress dropped (its uploads
 *      aborted, nothing half-committed); outcome `aborted`.
 *
 * The run folder is removed when the run is over.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeRun, joinStdin } from '../datum-runner.js';
import type { LogShipper } from '../log-shipper.js';
import { retry, type RetryPolicy } from '../retry-policy.js';
import type { ReadOnlyBind, RunResult, UserCodeDriver } from '../user-code-driver.js';
import { readArchiveEvents } from './archive-reader.js';
import type { ArchiveCommitter, CommittedArchive, StagedArchive } from './archive-committer.js';
import { makeFifo, openFifoSource, type FifoSource } from './fifo-source.js';
import { downloadMarker, type DownloadedMarker, type MarkerSource } from './marker.js';

export interface SpoutProgram {
  cmd: string[];
  stdin: string[];
  /** `transform.working_dir`; '' for `/`. */
  workingDir: string;
}

export interface SpoutRunDeps {
  driver: UserCodeDriver;
  committer: ArchiveCommitter;
  logs: Pick<LogShipper, 'push'>;
  markers: MarkerSource;
  /** The output repo (the marker branch is in it). */
  repo: string;
  /** The marker's clean repo path (`/mymark`), or undefined. */
  marker: string | undefined;
  program: SpoutProgram;
  env: Record<string, string>;
  readOnlyBinds: ReadOnlyBind[];
  /** This run's own folder (removed first and at the end). */
  runDir: string;
  /** Retries of daemon calls (the marker download) while the daemon is unreachable. */
  retry: RetryPolicy;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** The marker was fetched (null: none yet) and the user code is about to start. */
  onStart?: (marker: DownloadedMarker | null) => void;
  onCommit?: (archive: CommittedArchive) => void;
}

export type SpoutRunOutcome =
  /** The user code exited; every complete archive it wrote is committed. */
  | { kind: 'exited'; result: RunResult; commits: number; durationMs: number }
  /** An archive was refused or could not be stored: the user code was killed (or had exited). */
  | { kind: 'refused'; reason: string; result: RunResult | null; commits: number; durationMs: number }
  | { kind: 'aborted'; commits: number };

type Consumed = { kind: 'drained' } | { kind: 'failed'; reason: string } | { kind: 'aborted' };

type UserEnd = { ok: true; result: RunResult } | { ok: false; error: unknown };

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Commits staged archives strictly in order, one at a time, while the caller streams the next
 * archive: archive N+1's commit starts only after archive N's succeeded. After a failure every
 * later archive is dropped (with a marker, committing past a gap would lose messages).
 */
class CommitQueue {
  private tail: Promise<void> = Promise.resolve();
  /** The first commit failure, once there is one. */
  failure: { error: unknown } | undefined;

  constructor(
    private readonly committer: ArchiveCommitter,
    private readonly onCommitted: (archive: CommittedArchive) => void,
    private readonly onFailed: () => void,
  ) {}

  push(staged: StagedArchive): void {
    const prev = this.tail;
    this.tail = (async () => {
      try {
        await prev;
      } catch (err) {
        this.committer.discard(staged);
        throw err;
      }
      this.onCommitted(await this.committer.commit(staged));
    })();
    this.tail.catch((error: unknown) => {
      if (this.failure !== undefined) return;
      this.failure = { error };
      this.onFailed();
    });
  }

  /** Resolves once every pushed archive is committed; rejects with the first failure. */
  async settle(): Promise<void> {
    await this.tail;
  }
}

/** Streams the pipe's archives into commits until the source ends or an archive fails. */
async function consume(source: FifoSource, deps: SpoutRunDeps, signal: AbortSignal, counted: { commits: number }): Promise<Consumed> {
  const { committer } = deps;
  const system = (message: string): void => deps.logs.push({ job: null, datum: null, stream: 'system', message });
  const queue = new CommitQueue(
    committer,
    (done) => {
      counted.commits++;
      deps.onCommit?.(done);
    },
    // Stop reading at once, even if the writer is idle: the run is over.
    () => source.close(),
  );
  const stored = (err: unknown): Consumed => {
    system(`an archive could not be stored, nothing of it is committed: ${errorMessage(err)}`);
    return { kind: 'failed', reason: `an archive could not be stored: ${errorMessage(err)}` };
  };
  // Every way out waits for the commits in flight: the next run reads the marker, which must
  // already count them.
  const settled = async (): Promise<{ error: unknown } | undefined> => {
    try {
      await queue.settle();
      return undefined;
    } catch (error) {
      return { error };
    }
  };
  try {
    for await (const ev of readArchiveEvents(source)) {
      if (queue.failure !== undefined) break;
      switch (ev.type) {
        case 'archive-start':
          committer.begin();
          break;
        case 'entry-start':
          await committer.entryStart(ev.entry);
          break;
        case 'entry-data':
          await committer.entryData(ev.chunk);
          break;
        case 'entry-end':
          await committer.entryEnd();
          break;
        case 'archive-end':
          if (ev.entries === 0) break; // only headers that describe nothing: no commit
          queue.push(await committer.stage());
          break;
        case 'archive-error': {
          committer.abort();
          const failed = await settled();
          if (signal.aborted) return { kind: 'aborted' };
          if (failed !== undefined) return stored(failed.error);
          system(`archive refused (${ev.problem}), nothing of it is committed: ${ev.error.message}`);
          return { kind: 'failed', reason: `an archive was refused: ${ev.error.message}` };
        }
        case 'fragment-dropped':
          system(`dropped ${ev.bytes} bytes at byte ${ev.offset} of the pipe: a writer closed it after less than one 512-byte tar block`);
          break;
      }
    }
  } catch (err) {
    committer.abort();
    await settled();
    if (signal.aborted) return { kind: 'aborted' };
    return stored(queue.failure?.error ?? err);
  }
  if (signal.aborted) {
    committer.abort();
    await settled();
    return { kind: 'aborted' };
  }
  committer.abort(); // an archive left open when a commit failed
  const failed = await settled();
  if (failed !== undefined) return stored(failed.error);
  return { kind: 'drained' };
}

/**
 * Runs the spout's user code once; see the module comment. Throws when the run cannot start
 * (the pipe cannot be made, the marker cannot be read for a reason waiting does not fix).
 */
export async function runSpoutOnce(deps: SpoutRunDeps, signal: AbortSignal): Promise<SpoutRunOutcome> {
  const pfsDir = join(deps.runDir, 'pfs');
  const fifo = join(pfsDir, 'out');
  const counted = { commits: 0 };
  await rm(deps.runDir, { recursive: true, force: true });
  await mkdir(pfsDir, { recursive: true });
  try {
    await makeFifo(fifo);
    let marker: DownloadedMarker | null = null;
    const markerName = deps.marker;
    if (markerName !== undefined) {
      marker = await retry(deps.retry, signal, () => downloadMarker(deps.markers, deps.repo, markerName, pfsDir), deps.onRetry === undefined ? {} : { onRetry: deps.onRetry });
    }
    signal.throwIfAborted();
    // The read end is open before any writer can exist, and stays open for the whole run.
    const source = openFifoSource(fifo, signal);
    const kill = new AbortController();
    const onAbort = (): void => kill.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      deps.onStart?.(marker);
      const started = performance.now();
      let consumed: Consumed | undefined;
      let userEnd: UserEnd | undefined;
      const consuming = consume(source, deps, signal, counted).then((c) => {
        consumed = c;
      });
      const { program } = deps;
      const running = deps.driver
        .run(
          {
            cmd: program.cmd,
            stdin: joinStdin(program.stdin),
            env: deps.env,
            ...(program.workingDir !== '' ? { workingDir: program.workingDir } : {}),
            pfsDir,
            readOnlyBinds: deps.readOnlyBinds,
            onLine: (stream, message) => deps.logs.push({ job: null, datum: null, stream, message }),
          },
          kill.signal,
        )
        .then(
          (result): void => {
            userEnd = { ok: true, result };
          },
          (error: unknown): void => {
            userEnd = { ok: false, error };
          },
        );
      await Promise.race([consuming, running]);
      if (userEnd !== undefined) {
        // Every writer is gone: commit what is left in the pipe, then stop reading it.
        source.end();
        await consuming;
      } else {
        // An archive failed: the rest of this pipe cannot be trusted (or must not be committed
        // after a gap). Kill the writers and drop the pipe.
        kill.abort(new Error('the spout run ended: an archive failed'));
        source.close();
        await running;
      }
      const durationMs = Math.round(performance.now() - started);
      const end = userEnd as UserEnd | undefined;
      const got = consumed as Consumed | undefined;
      if (signal.aborted || got === undefined || got.kind === 'aborted') return { kind: 'aborted', commits: counted.commits };
      const result = end?.ok === true ? end.result : null;
      if (got.kind === 'failed') return { kind: 'refused', reason: got.reason, result, commits: counted.commits, durationMs };
      if (end === undefined || !end.ok) throw end?.error ?? new Error('user code ended without a result');
      return { kind: 'exited', result: end.result, commits: counted.commits, durationMs };
    } finally {
      signal.removeEventListener('abort', onAbort);
      source.close();
    }
  } finally {
    await rm(deps.runDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What ended a run, in words, for logs and the pipeline's reason. */
export function describeOutcome(outcome: Exclude<SpoutRunOutcome, { kind: 'aborted' }>): string {
  if (outcome.kind === 'refused') return outcome.reason;
  return describeRun(outcome.result, 0, 'user code');
}
