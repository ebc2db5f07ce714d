/**
 * Runs one datum from start to result: a fresh scratch folder, the inputs materialised under
 * its `pfs/`, an empty `pfs/out`, user code run through the driver (with `transform.stdin`,
 * `transform.env` plus Pachyderm's variables, `working_dir` and `datum_timeout`), then either
 * the output uploaded as one tar stream or a failure reason. The scratch folder is always
 * removed.
 *
 * Outcomes (the returned `DatumResult`, which the caller reports):
 * - exit 0, or a code in `accept_return_code`: success, with the upload holding `/pfs/out`;
 * - anything else: failure, with a reason naming the datum, what happened (exit code, signal,
 *   timeout, missing program) and the last lines of stderr; if `err_cmd` is set it runs (same
 *   `/pfs`, `err_stdin` on stdin) and, if it succeeds, the datum is *recovered*: Pachyderm's
 *   semantics (`datum.go`: state RECOVERED, no output uploaded, the job does not fail);
 * - bad output (a symlink out of `/pfs/out`, a FIFO) or an input that cannot be read: failure.
 *
 * Transient daemon failures (connection refused, 503) while downloading or uploading are
 * rethrown, not reported: the daemon is what is missing, so the caller retries the datum once
 * it is back. An aborted `signal` kills user code and rejects with the signal's reason.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatumTask } from '../api/pps-types.js';
import { isSluiceError } from '../errors/index.js';
import { collectOutput, packOutput } from './output-collector.js';
import { LazyFeeds } from './lazy-inputs.js';
import { materializeInputs } from './materialize-inputs.js';
import { isTransient } from './retry-policy.js';
import { userCodeEnv, type PachydermClientEnv } from './user-code-env.js';
import type { RunResult, UserCodeDriver } from './user-code-driver.js';
import type { ShippedLine } from './log-shipper.js';
import type { UploadFactory, UploadSink, WorkerDatumResult } from './worker-client.js';
import type { InputSource } from './materialize-inputs.js';

export interface DatumLog {
  push(line: Omit<ShippedLine, 'ts'> & { ts?: number }): void;
  /** Optional: start sending what was pushed now (the `LogShipper`'s `flush`; not awaited here). */
  flush?(timeoutMs?: number): Promise<void>;
}

/** An upload opened while user code runs is used only if younger than this (uploads expire after a day). */
const EARLY_UPLOAD_MAX_AGE_MS = 60 * 60 * 1000;

export interface DatumRunnerDeps {
  client: InputSource & UploadFactory;
  driver: UserCodeDriver;
  worker: string;
  logs: DatumLog;
  /** Parent of the per-datum scratch folders (default `<tmp>/sluice-worker-<worker>`). */
  scratchRoot?: string;
  /** The worker's environment, from which `PATH`, `HOME`, … are taken (default `process.env`). */
  workerEnv?: Readonly<Record<string, string | undefined>>;
  /** The config and variables for Pachyderm's clients in user code (none: not provided). */
  clients?: PachydermClientEnv;
}

/** Lines of stderr quoted in a failure reason, and the characters kept of each. */
const REASON_STDERR_LINES = 20;
const REASON_LINE_CHARS = 500;

/** A path segment made from an id (datum ids are hashes, but nothing forces that). */
export function safeSegment(id: string): string {
  const s = id.replace(/[^A-Za-z0-9._-]/g, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

export function defaultScratchRoot(worker: string): string {
  return join(tmpdir(), `sluice-worker-${safeSegment(worker)}`);
}

/** Pachyderm's stdin: the lines joined with "\n", plus a trailing "\n"; nothing when there are none. */
export function joinStdin(lines: readonly string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}

function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(osConstants.signals)) if (num === n) return name;
  return undefined;
}

/** What went wrong in one run, in words: `user code exited with code 3`, `user program "x" not found`. */
export function describeRun(res: RunResult, timeoutMs: number, program: string): string {
  if (res.startError !== null) return res.startError;
  if (res.timedOut) return `${program} timed out after ${timeoutMs} ms (datum_timeout)`;
  if (res.signal !== null) return `${program} was killed by ${res.signal}`;
  const code = res.exitCode ?? -1;
  // The sandbox reports a program killed by signal n as exit status 128+n, as shells do.
  const sig = code > 128 && code < 128 + 65 ? signalName(code - 128) : undefined;
  return `${program} exited with code ${code}${sig !== undefined ? ` (128+${code - 128}: killed by ${sig}?)` : ''}`;
}

function stderrQuote(res: RunResult): string {
  if (res.startError !== null || res.stderrTail.length === 0) return '';
  const lines = res.stderrTail.slice(-REASON_STDERR_LINES).map((l) => (l.length > REASON_LINE_CHARS ? `${l.slice(0, REASON_LINE_CHARS)}…` : l));
  return `; last lines of stderr:\n${lines.join('\n')}`;
}

function accepted(res: RunResult, acceptReturnCode: readonly number[]): boolean {
  return res.startError === null && !res.timedOut && res.exitCode !== null && (res.exitCode === 0 || acceptReturnCode.includes(res.exitCode));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one datum; see the module comment for the outcomes. */
export async function runDatum(task: DatumTask, deps: DatumRunnerDeps, signal: AbortSignal): Promise<WorkerDatumResult> {
  const base = { worker: deps.worker, job: task.job, datum: task.datum };
  const fail = (why: string, extra: { bytesDownloaded?: number } = {}): WorkerDatumResult => ({ ...base, success: false, reason: `datum ${task.datum} failed: ${why}`, ...extra });
  const system = (message: string): void => deps.logs.push({ job: task.job, datum: task.datum, stream: 'system', message });

  const t = task.transform;
  const program = t.cmd[0];
  if (program === undefined || program === '') return fail('transform.cmd is empty');

  const dir = join(deps.scratchRoot ?? defaultScratchRoot(deps.worker), safeSegment(task.datum));
  const pfsDir = join(dir, 'pfs');
  // A crashed earlier attempt may have left its folder behind.
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(pfsDir, 'out'), { recursive: true });
  // The output's upload session is opened while user code runs (one round trip off the datum's
  // path); a datum that ends without using it aborts it.
  let early: { upload: Promise<UploadSink>; at: number } | undefined;
  const takeUpload = async (): Promise<UploadSink> => {
    const e = early;
    early = undefined;
    if (e !== undefined && Date.now() - e.at < EARLY_UPLOAD_MAX_AGE_MS) return e.upload;
    if (e !== undefined) void e.upload.then((u) => u.abort()).catch(() => undefined);
    return deps.client.createUpload();
  };
  const lazy = new LazyFeeds(deps.client);
  try {
    let bytesDownloaded: number;
    try {
      bytesDownloaded = await materializeInputs(deps.client, task.inputs, pfsDir, signal, lazy);
    } catch (err) {
      if (signal.aborted || isTransient(err)) throw err;
      return fail(`cannot download its inputs: ${errorMessage(err)}`);
    }
    /** Ends the lazy inputs' streams once user code is done; a file it read must have arrived whole. */
    const lazyFailure = async (): Promise<string | undefined> => {
      const got = await lazy.close();
      bytesDownloaded += got.bytes;
      if (got.error === undefined) return undefined;
      if (isTransient(got.error)) throw got.error;
      return `cannot stream a lazy input: ${errorMessage(got.error)}`;
    };

    const env = userCodeEnv(task, deps.workerEnv ?? process.env, deps.clients);
    const run = async (cmd: string[], stdin: string[]): Promise<RunResult> =>
      deps.driver.run(
        {
          cmd,
          stdin: joinStdin(stdin),
          env,
          ...(t.workingDir !== '' ? { workingDir: t.workingDir } : {}),
          pfsDir,
          ...(deps.clients !== undefined ? { readOnlyBinds: deps.clients.binds } : {}),
          onLine: (stream, message) => deps.logs.push({ job: task.job, datum: task.datum, stream, message }),
          ...(task.datumTimeoutMs > 0 ? { timeoutMs: task.datumTimeoutMs } : {}),
        },
        signal,
      );

    early = { upload: deps.client.createUpload(), at: Date.now() };
    early.upload.catch(() => undefined); // awaited (and its failure seen) by takeUpload
    system('beginning to run user code');
    const res = await run(t.cmd, t.stdin);
    const lazyWhy = await lazyFailure();
    if (lazyWhy !== undefined) return fail(lazyWhy, { bytesDownloaded });
    if (!accepted(res, t.acceptReturnCode)) {
      const what = describeRun(res, task.datumTimeoutMs, 'user code');
      system(`errored running user code after ${res.durationMs} ms: ${what}`);
      const reason = `${what}${stderrQuote(res)}`;
      if (t.errCmd.length === 0) return fail(reason, { bytesDownloaded });
      system('beginning to run user error handling code');
      const errRes = await run(t.errCmd, t.errStdin);
      if (accepted(errRes, t.acceptReturnCode)) {
        system(`finished running user error handling code after ${errRes.durationMs} ms: the datum is recovered`);
        // An empty upload: a recovered datum contributes no output, and a successful result
        // always names an upload.
        const upload = await takeUpload();
        return { ...base, success: true, recovered: true, uploadId: upload.id, reason: `datum ${task.datum} recovered by err_cmd after: ${reason}`, bytesDownloaded, bytesUploaded: 0 };
      }
      const errWhat = describeRun(errRes, task.datumTimeoutMs, 'err_cmd');
      system(`errored running user error handling code after ${errRes.durationMs} ms: ${errWhat}`);
      return fail(`${reason}\n(${errWhat})`, { bytesDownloaded });
    }
    system(`finished running user code after ${res.durationMs} ms${res.exitCode !== 0 ? ` (exit code ${res.exitCode ?? '?'} accepted)` : ''}`);
    // The datum's lines travel while its output is read and uploaded.
    void deps.logs.flush?.(2_000);

    let files;
    try {
      files = await collectOutput(pfsDir, task.inputs.map((i) => i.name));
    } catch (err) {
      if (isSluiceError(err, 'INVALID_PATH')) return fail(err.message, { bytesDownloaded });
      // User code can make its output unreadable (chmod 000); that is the datum's fault.
      return fail(`cannot read /pfs/out: ${errorMessage(err)}`, { bytesDownloaded });
    }
    const upload = await takeUpload();
    try {
      if (files.length > 0) await upload.putTar('/', packOutput(files, signal));
    } catch (err) {
      await upload.abort().catch(() => undefined);
      if (signal.aborted || isTransient(err)) throw err;
      return fail(`cannot upload /pfs/out: ${errorMessage(err)}`, { bytesDownloaded });
    }
    const bytesUploaded = files.reduce((n, f) => n + f.size, 0);
    return { ...base, success: true, uploadId: upload.id, bytesDownloaded, bytesUploaded };
  } finally {
    if (early !== undefined) void early.upload.then((u) => u.abort()).catch(() => undefined);
    await lazy.close();
    await removeScratch(dir);
  }
}

/**
 * Removes a datum's scratch folder even when user code left folders without write permission
 * (which stops a non-root worker's `rm -r`); a failure here must not replace the datum's result.
 */
async function removeScratch(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch {
    // fall through: make every folder writable, then try again
  }
  const open = async (d: string): Promise<void> => {
    await chmod(d, 0o700).catch(() => undefined);
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await open(join(d, e.name));
  };
  await open(dir);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}
