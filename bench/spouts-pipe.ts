/**
 * spouts-pipe: spouts 1.0 (issue 4), tar archives through the named pipe `/pfs/out` into
 * commits, side by side with the limits it is measured against.
 *
 * 1. Throughput, for one-entry archives of 1 KiB (archives/s) and of 64 MiB (MB/s). The spout's
 *    user code is bench/fixtures/pipe-writer.py, a Python program that builds its archives first
 *    and then writes them as fast as it can, one open of the pipe each; the rate is taken from
 *    the daemon's `finished` times, from the last warm-up commit to the last commit. Against:
 *    - the raw FIFO (one made with `mkfifo` in the bench's folder, a `dd` reader discarding
 *      into /dev/null): `dd` of the same archives into it (one stream), and the same Python
 *      writer (one open per archive), which is the most the pipe itself allows;
 *    - `put file` of the same content through the SDK (one long-lived client in this process):
 *      1 KiB one-file commits, `putFile(repo, 'master', '/m<i>', 1 KiB)`, one after another;
 *      64 MiB files, `putFile` of a 64 MiB buffer each.
 *    Goal: the pipe costs less than 20% over `put file`.
 * 2. Latency from the last byte of an archive (the writer's `time.time_ns()` right after it
 *    closes the pipe, printed on stdout and read back from the pipeline's logs) to its commit:
 *    the commit's `finished` time (the daemon's clock, which is the same wall clock), and the
 *    moment a subscriber in this process (`subscribeCommits`) sees it. Archives 1 KiB, paced
 *    PIPE_LATENCY_INTERVAL_MS apart so that each is measured alone. Goal: p99 under 20 ms.
 *
 * One daemon serves every series, warmed up first (`warmDaemon`: a fresh daemon's JIT needs some
 * hundreds of commits before its per-commit cost settles). The machine is usually shared: each
 * series runs at a different moment, so compare figures of one run, and read the load averages.
 *
 * Where the time goes: the daemon's and the spout worker's CPU per commit (from /proc, over the
 * measured commits), and with BENCH_PROFILE the worker processes (`sluice worker`) are profiled
 * too (see `startDaemonProfilingWorkers`).
 *
 * Sizes: PIPE_SMALL (1 KiB archives, default 2,000, after PIPE_WARMUP = 50 uncounted),
 * PIPE_BIG (64 MiB archives, default 4, after one uncounted), PIPE_BIG_MIB (default 64),
 * PIPE_LATENCY (default 200 archives, after 10 uncounted), PIPE_LATENCY_INTERVAL_MS (default 50).
 *
 * The helpers exported here (spout specs, waiting for commits, log stamps, CPU of processes)
 * are shared with bench/spouts-put.ts.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, type CommitInfo } from '../src/client/index.js';
import { packageRoot } from '../src/lib/version.js';
import { envInt, type BenchContext, type Benchmark } from './lib/bench.js';
import type { BenchDaemon } from './lib/daemon.js';
import { run } from './lib/exec.js';
import { table } from './lib/report.js';
import { fmt, fmtInt, fmtMB, mbPerSec, msSince, summarize, type LatencySummary } from './lib/stats.js';
import { generateTar } from './lib/tar-gen.js';

export const FIXTURES = join(packageRoot(), 'bench', 'fixtures');
const WRITER = join(FIXTURES, 'pipe-writer.py');
const MiB = 1024 * 1024;
const CLOCK_TICKS = Number(process.env.CLK_TCK ?? 100);

// ---- shared helpers (also used by spouts-put) ----

/** A spout's spec: no input, `transform.cmd` and `env` as given. */
export function spoutSpec(name: string, cmd: readonly string[], env: Record<string, string>, spout: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name }, transform: { cmd, env }, spout });
}

/** Wall-clock milliseconds with sub-millisecond resolution (the clock commit times use). */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** User + system CPU time of a process so far, in ms (NaN once it is gone). */
export function procCpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the `sluice worker --pipeline <name>` process, if one runs. */
export async function workerPid(pipeline: string): Promise<number | undefined> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const i = argv.indexOf('--pipeline');
    if (argv.includes('worker') && i !== -1 && argv[i + 1] === pipeline) return Number(pid);
  }
  return undefined;
}

/** How far a spout has got, with the CPU its daemon and worker have used, at one moment. */
export interface Progress {
  commits: number;
  daemonCpuMs: number;
  workerCpuMs: number;
}

async function commitCount(c: Client, repo: string, branch: string): Promise<number> {
  try {
    return (await c.inspectCommit(repo, branch)).depth + 1;
  } catch {
    return 0; // no commit yet
  }
}

/**
 * Polls `repo@branch` until it has `total` commits; returns the commits, oldest first, and the
 * progress at the first poll that saw at least `from` commits and at the end (so CPU per
 * commit can be taken over the measured commits only). Fails early if the pipeline crashes.
 */
export async function waitCommits(
  c: Client, daemon: BenchDaemon, pipeline: string, total: number,
  opts: { from?: number; branch?: string; timeoutMs?: number; pollMs?: number } = {},
): Promise<{ commits: CommitInfo[]; first: Progress | undefined; last: Progress }> {
  const branch = opts.branch ?? 'master';
  const deadline = Date.now() + (opts.timeoutMs ?? 900_000);
  let pid: number | undefined;
  let first: Progress | undefined;
  let lastState = 0;
  for (;;) {
    pid ??= await workerPid(pipeline);
    const cpuW = pid === undefined ? Number.NaN : procCpuMs(pid);
    const cpuD = daemon.cpuMs();
    const n = await commitCount(c, pipeline, branch);
    const p: Progress = { commits: n, daemonCpuMs: cpuD, workerCpuMs: cpuW };
    if (first === undefined && opts.from !== undefined && n >= opts.from) first = p;
    if (n >= total) {
      const commits = (await c.listCommits(pipeline, { branch })).sort((a, b) => a.depth - b.depth);
      return { commits, first, last: p };
    }
    if (Date.now() - lastState > 5_000) {
      lastState = Date.now();
      const info = await c.inspectPipeline(pipeline);
      if (info.state === 'crashing' || info.state === 'failure') throw new Error(`spout ${pipeline} is ${info.state} after ${n} of ${total} commits: ${info.reason}`);
    }
    if (Date.now() > deadline) throw new Error(`spout ${pipeline}: ${n} of ${total} commits after ${opts.timeoutMs ?? 900_000} ms`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** CPU ms per commit between two progress readings. */
export function cpuPerCommit(a: Progress | undefined, b: Progress): { daemon: number; worker: number } {
  if (a === undefined || b.commits <= a.commits) return { daemon: Number.NaN, worker: Number.NaN };
  const n = b.commits - a.commits;
  return { daemon: (b.daemonCpuMs - a.daemonCpuMs) / n, worker: (b.workerCpuMs - a.workerCpuMs) / n };
}

/** The pipeline's stdout lines, oldest first. */
export async function stdoutLines(c: Client, pipeline: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of c.getLogs({ pipeline })) if (l.stream === 'stdout') out.push(l.message);
  return out;
}

/** The worker's own log lines (`system`): starts, restarts, refused archives. */
export async function systemLines(c: Client, pipeline: string): Promise<string[]> {
  const out: string[] = [];
  for await (const l of c.getLogs({ pipeline })) if (l.stream === 'system') out.push(l.message);
  return out;
}

/** Throws if the spout's user code was started more than once (a restart re-sends everything). */
export async function assertOneRun(c: Client, pipeline: string): Promise<void> {
  const lines = await systemLines(c, pipeline);
  if (!lines.some((l) => /starting user code \(run [2-9]/.test(l))) return;
  const stderr: string[] = [];
  for await (const l of c.getLogs({ pipeline })) if (l.stream === 'stderr') stderr.push(l.message);
  throw new Error(`spout ${pipeline} restarted its user code, so its figures are void:\n${lines.join('\n')}\nstderr:\n${stderr.slice(-20).join('\n')}`);
}

/** Waits until the user code has printed a line matching `done`; returns its stdout lines. */
export async function waitStdout(c: Client, pipeline: string, done: RegExp, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await stdoutLines(c, pipeline);
    if (lines.some((l) => done.test(l))) return lines;
    if (Date.now() > deadline) throw new Error(`pipeline ${pipeline} never printed ${done}; stdout:\n${lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Records when each new finished commit of `repo@branch` reaches a subscriber (wall ms). */
export class CommitWatcher {
  readonly seen = new Map<string, number>();
  private readonly ac = new AbortController();
  private readonly loop: Promise<void>;

  constructor(c: Client, repo: string, branch = 'master') {
    this.loop = (async () => {
      // Retried until the repo exists (the pipeline creates it).
      while (!this.ac.signal.aborted) {
        try {
          for await (const commit of c.subscribeCommits(repo, { branch, signal: this.ac.signal })) {
            if (!this.seen.has(commit.id)) this.seen.set(commit.id, wallMs());
          }
        } catch {
          if (this.ac.signal.aborted) return;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.loop.catch(() => undefined);
  }
}

/**
 * Starts the daemon; when profiling, the `sluice worker` processes it spawns are profiled too:
 * node refuses --cpu-prof in NODE_OPTIONS, so NODE_OPTIONS preloads bench/fixtures/
 * worker-profiler.mjs, which profiles a worker through the inspector and writes its profile
 * on exit into a folder of its own. The daemon passes its environment on to its workers (user
 * code does not inherit NODE_OPTIONS); the preload leaves the daemon itself alone. Each worker's
 * profile is labelled `<label>-worker-<pipeline>`.
 */
export async function startDaemonProfilingWorkers(ctx: BenchContext, label: string): Promise<BenchDaemon> {
  if (ctx.profileDir === undefined) return ctx.startDaemon(label);
  const saved = { options: process.env.NODE_OPTIONS, dir: process.env.BENCH_WORKER_PROFILE_DIR };
  process.env.NODE_OPTIONS = `${saved.options ?? ''} --import=${pathToFileURL(join(FIXTURES, 'worker-profiler.mjs')).href}`.trim();
  process.env.BENCH_WORKER_PROFILE_DIR = join(ctx.profileDir, `${label}-worker`);
  try {
    return await ctx.startDaemon(label);
  } finally {
    for (const [k, v] of [['NODE_OPTIONS', saved.options], ['BENCH_WORKER_PROFILE_DIR', saved.dir]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * Waits until the daemon is quiet (under 5% of a CPU over half a second, at most `maxMs`), so
 * that a latency measurement does not start while it still digests the previous series
 * (deleting a repo, collecting garbage); resolves to the ms waited.
 */
export async function waitQuiet(d: BenchDaemon, maxMs = 60_000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const cpu0 = d.cpuMs();
    await new Promise((r) => setTimeout(r, 500));
    if (d.cpuMs() - cpu0 < 25 || Date.now() - start > maxMs) return Date.now() - start;
  }
}

/**
 * Warms the daemon's JIT before anything is measured (a fresh daemon needs some hundreds of
 * commits before its per-commit cost settles; the first series would otherwise pay for it): 300
 * one-file `putFile` commits, 100 upload sessions (`createUpload`, `putTar` of one entry,
 * `commit`) and 5 of 1,000 entries, into a repo of its own.
 */
export async function warmDaemon(c: Client): Promise<void> {
  await c.createRepo('warmup');
  for (let i = 0; i < 300; i++) await c.putFile('warmup', 'master', '/f', randomBytes(1024));
  for (let i = 0; i < 105; i++) {
    const n = i < 100 ? 1 : 1000;
    const tar = generateTar(0, n, (j) => ({ name: `s${i}/m${j}`, body: randomBytes(1024) }));
    const up = await c.createUpload();
    await up.putTar('/', tar);
    await up.commit('warmup', 'master');
  }
}

/** Deletes a pipeline (and its repo), so its user code stops competing for the CPUs. */
export async function dropPipeline(c: Client, name: string): Promise<void> {
  await c.deletePipeline(name, { force: true }).catch(() => c.deletePipeline(name));
}

export function latencyRow(label: string, s: LatencySummary): string[] {
  return [label, fmtInt(s.count), fmt(s.p50, 1), fmt(s.p90, 1), fmt(s.p99, 1), fmt(s.max, 1)];
}

// ---- the raw FIFO ----

interface WriterStamps {
  startNs: bigint;
  doneNs: bigint;
}

function parseStamps(stdout: string): WriterStamps {
  const start = /^start (\d+)$/m.exec(stdout);
  const done = /^done (\d+)$/m.exec(stdout);
  if (start === null || done === null) throw new Error(`the writer printed no start/done stamps: ${stdout.slice(0, 300)}`);
  return { startNs: BigInt(start[1]!), doneNs: BigInt(done[1]!) };
}

/**
 * A FIFO read by `dd of=/dev/null`, held open for writing by this process meanwhile (so the
 * reader sees no end of file between writers, as the worker's reader does not); `write` runs
 * the writers. Resolves with the ms from before `write` to the reader having read everything.
 */
async function throughRawFifo(dir: string, write: (fifo: string) => Promise<void>): Promise<number> {
  const fifo = join(dir, `raw-${Date.now()}.fifo`);
  await run('mkfifo', [fifo]);
  const reader = spawn('dd', [`if=${fifo}`, 'of=/dev/null', 'bs=1M', 'status=none'], { stdio: 'ignore' });
  const readerDone = new Promise<void>((resolve, reject) => {
    reader.once('error', reject);
    reader.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dd reader exited with ${code}`))));
  });
  // O_RDWR on a FIFO never blocks, and unblocks the reader's open.
  const holder = openSync(fifo, constants.O_RDWR);
  const start = process.hrtime.bigint();
  try {
    await write(fifo);
  } finally {
    closeSync(holder);
  }
  await readerDone;
  const ms = msSince(start);
  await rm(fifo, { force: true });
  return ms;
}

function writerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, EXIT: '1', ...extra };
}

interface RawResult {
  /** `dd` of all the archives (one stream, one open) into the FIFO: ms. */
  ddMs: number;
  /** The Python writer, one open per archive, from its first measured open to its last close. */
  writerMs: number;
  bytes: number;
}

/** Both raw measurements for `count` archives of `size` bytes. */
async function rawFifo(ctx: BenchContext, count: number, warmup: number, size: number): Promise<RawResult> {
  const stream = join(ctx.dir, `archives-${size}.tar`);
  await rm(stream, { force: true });
  await run('python3', [WRITER], { env: writerEnv({ OUT: stream, OPEN_MODE: 'ab', COUNT: String(count), WARMUP: '0', SIZE: String(size) }) });
  const bytes = (await stat(stream)).size;
  const ddMs = await throughRawFifo(ctx.dir, async (fifo) => {
    await run('dd', [`if=${stream}`, `of=${fifo}`, 'bs=1M', 'status=none']);
  });
  await rm(stream, { force: true });
  let stamps: WriterStamps | undefined;
  await throughRawFifo(ctx.dir, async (fifo) => {
    const r = await run('python3', [WRITER], { env: writerEnv({ OUT: fifo, COUNT: String(count), WARMUP: String(warmup), SIZE: String(size) }) });
    stamps = parseStamps(r.stdout);
  });
  const writerMs = Number(stamps!.doneNs - stamps!.startNs) / 1e6;
  return { ddMs, writerMs, bytes };
}

// ---- the spout ----

interface SpoutRun {
  /** ms from the last warm-up commit's `finished` to the last commit's. */
  ms: number;
  daemonCpuMs: number;
  workerCpuMs: number;
  commits: CommitInfo[];
}

async function spoutThroughput(c: Client, d: BenchDaemon, name: string, count: number, warmup: number, size: number): Promise<SpoutRun> {
  await c.createPipeline(spoutSpec(name, ['python3', WRITER], { COUNT: String(count), WARMUP: String(warmup), SIZE: String(size) }));
  const { commits, first, last } = await waitCommits(c, d, name, count + warmup, { from: warmup, pollMs: size > MiB ? 200 : 100 });
  await assertOneRun(c, name);
  if (commits.length !== count + warmup) throw new Error(`${name}: ${commits.length} commits, expected ${count + warmup}; system log:\n${(await systemLines(c, name)).join('\n')}`);
  const head = commits.at(-1)!;
  if (head.sizeBytes !== (count + warmup) * size) throw new Error(`${name}: the head holds ${head.sizeBytes} bytes, expected ${(count + warmup) * size}`);
  const cpu = cpuPerCommit(first, last);
  await dropPipeline(c, name);
  const from = commits[warmup - 1]!.finished!;
  return { ms: head.finished! - from, daemonCpuMs: cpu.daemon, workerCpuMs: cpu.worker, commits };
}

/** Sequential SDK putFile calls: ms for the measured ones (each, and in all), daemon CPU per put. */
async function sdkPuts(c: Client, d: BenchDaemon, repo: string, count: number, warmup: number, body: (i: number) => Buffer): Promise<{ ms: number; each: number[]; daemonCpuMs: number }> {
  await c.createRepo(repo);
  for (let i = 0; i < warmup; i++) await c.putFile(repo, 'master', `/w${i}`, body(-1 - i));
  const each: number[] = [];
  let cpu = 0;
  for (let i = 0; i < count; i++) {
    const b = body(i);
    const cpu0 = d.cpuMs();
    const t = process.hrtime.bigint();
    await c.putFile(repo, 'master', `/m${String(i).padStart(8, '0')}`, b);
    each.push(msSince(t));
    cpu += d.cpuMs() - cpu0;
  }
  return { ms: each.reduce((a, x) => a + x, 0), each, daemonCpuMs: cpu / count };
}

/**
 * The calls the spout worker makes per archive, from this process: `createUpload`, `putTar` of
 * a one-entry archive, `commit`; each step timed (the worker makes the upload ahead and streams
 * the next archive while one commits; here they run one after another).
 */
async function sdkUploadSessions(c: Client, repo: string, count: number, warmup: number, size: number): Promise<{ ms: number; create: number[]; put: number[]; commit: number[] }> {
  await c.createRepo(repo);
  const create: number[] = [];
  const put: number[] = [];
  const commit: number[] = [];
  let ms = 0;
  for (let i = -warmup; i < count; i++) {
    const tar = generateTar(0, 1, () => ({ name: `m${String(i + warmup).padStart(8, '0')}`, body: randomBytes(size) }));
    const chunks: Buffer[] = [];
    for await (const b of tar) chunks.push(b as Buffer);
    const body = Buffer.concat(chunks);
    const t0 = process.hrtime.bigint();
    const up = await c.createUpload();
    const t1 = process.hrtime.bigint();
    await up.putTar('/', body, { append: true });
    const t2 = process.hrtime.bigint();
    await up.commit(repo, 'master');
    const t3 = process.hrtime.bigint();
    if (i < 0) continue;
    create.push(Number(t1 - t0) / 1e6);
    put.push(Number(t2 - t1) / 1e6);
    commit.push(Number(t3 - t2) / 1e6);
    ms += Number(t3 - t0) / 1e6;
  }
  return { ms, create, put, commit };
}

/** What one small synchronous write costs on the disk under `dir`: write 4 KiB, fsync; ms each. */
function fsyncCost(dir: string, n = 100): number[] {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = randomBytes(4096);
  const out: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, i * 4096);
      fsyncSync(fd);
      out.push(msSince(t));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

export const spoutsPipe: Benchmark = {
  name: 'spouts-pipe',
  heading: '6. spouts-pipe: archives through the spout pipe into commits, against the raw FIFO and put file',
  minFreeBytes: 4 * 1024 * 1024 * 1024,
  async run(ctx) {
    const small = envInt('PIPE_SMALL', 2000);
    const smallWarm = envInt('PIPE_WARMUP', 50);
    const big = envInt('PIPE_BIG', 4);
    const bigMiB = envInt('PIPE_BIG_MIB', 64);
    const latN = envInt('PIPE_LATENCY', 200);
    const latWarm = 10;
    const latInterval = envInt('PIPE_LATENCY_INTERVAL_MS', 50);
    const fullSize = small === 2000 && smallWarm === 50 && big === 4 && bigMiB === 64 && latN === 200 && latInterval === 50;
    const bigSize = bigMiB * MiB;
    const SMALL = 1024;

    ctx.log(`raw FIFO: ${fmtInt(small)} archives of 1 KiB, ${big} of ${bigMiB} MiB`);
    const rawSmall = await rawFifo(ctx, small, smallWarm, SMALL);
    const rawBig = await rawFifo(ctx, big, 1, bigSize);

    const d = await startDaemonProfilingWorkers(ctx, 'spouts-pipe');
    const c = new Client({ address: d.address });
    const out: string[] = [];
    try {
      ctx.log('warming the daemon up');
      await warmDaemon(c);
      ctx.log(`SDK: ${fmtInt(small)} putFile one-file commits of 1 KiB, ${big} of ${bigMiB} MiB`);
      const sdkSmall = await sdkPuts(c, d, 'put-small', small, smallWarm, () => randomBytes(SMALL));
      const sdkBig = await sdkPuts(c, d, 'put-big', big, 1, () => randomBytes(bigSize));
      ctx.log(`SDK: ${fmtInt(small)} upload sessions (createUpload, putTar, commit) of one 1 KiB entry`);
      const sessions = await sdkUploadSessions(c, 'session-small', small, smallWarm, SMALL);
      const fsyncMs = fsyncCost(ctx.dir);

      ctx.log(`spout: ${fmtInt(small)} archives of 1 KiB through the pipe`);
      const spSmall = await spoutThroughput(c, d, 'pipe-small', small, smallWarm, SMALL);
      ctx.log(`spout: ${big} archives of ${bigMiB} MiB through the pipe`);
      const spBig = await spoutThroughput(c, d, 'pipe-big', big, 1, bigSize);

      const rate = (n: number, ms: number): number => n / (ms / 1000);
      const smallRates = {
        dd: rate(small, rawSmall.ddMs),
        writer: rate(small, rawSmall.writerMs),
        sdk: rate(small, sdkSmall.ms),
        session: rate(small, sessions.ms),
        spout: rate(small, spSmall.ms),
      };
      const bigBytes = big * bigSize;
      const bigRates = {
        dd: mbPerSec(rawBig.bytes, rawBig.ddMs),
        writer: mbPerSec(rawBig.bytes, rawBig.writerMs),
        sdk: mbPerSec(bigBytes, sdkBig.ms),
        spout: mbPerSec(bigBytes, spBig.ms),
      };
      const cost = (put: number, spout: number): string => `${fmt((put / spout - 1) * 100, 0)}%`;
      ctx.log(`1 KiB: spout ${fmt(smallRates.spout, 0)}/s, put ${fmt(smallRates.sdk, 0)}/s; ${bigMiB} MiB: spout ${fmt(bigRates.spout)} MB/s, put ${fmt(bigRates.sdk)} MB/s`);

      out.push(`### Throughput\n`);
      out.push(`1 KiB: ${fmtInt(small)} one-entry archives (${fmtInt(smallWarm)} uncounted first), each written by the Python writer on its own open of the pipe (10 KiB with tarfile's record padding). ${bigMiB} MiB: ${big} one-entry archives (one uncounted first). Spout rates run from the last warm-up commit's \`finished\` to the last commit's; the writer is never the limit (see the raw rows).\n`);
      out.push(table(
        ['path', '1 KiB archives/s', `${bigMiB} MiB archives, MB/s`, 'daemon CPU ms per 1 KiB commit', 'worker CPU ms per 1 KiB commit'],
        [
          ['raw FIFO: `dd` of all the archives in one stream into it, `dd` reading into /dev/null', fmt(smallRates.dd, 0), fmt(bigRates.dd), '', ''],
          ['raw FIFO: the same Python writer, one open per archive, `dd` reading into /dev/null', fmt(smallRates.writer, 0), fmt(bigRates.writer), '', ''],
          ['SDK `putFile` of the same content, one commit each (long-lived client)', fmt(smallRates.sdk, 0), fmt(bigRates.sdk), fmt(sdkSmall.daemonCpuMs, 2), ''],
          ['SDK upload session per archive, as the spout worker calls it: `createUpload`, `putTar` of the archive, `commit`', fmt(smallRates.session, 0), '', '', ''],
          ['**spout**: the Python writer into `/pfs/out`, one commit per archive', fmt(smallRates.spout, 0), fmt(bigRates.spout), fmt(spSmall.daemonCpuMs, 2), fmt(spSmall.workerCpuMs, 2)],
          ['the pipe\'s cost over `put file` (time per archive)', cost(smallRates.sdk, smallRates.spout), cost(bigRates.sdk, bigRates.spout), '', ''],
        ],
      ));
      const met = (put: number, spout: number): boolean => put / spout - 1 < 0.2;
      out.push(`\nGoal: the pipe costs less than 20% over \`put file\`: 1 KiB **${met(smallRates.sdk, smallRates.spout) ? 'met' : 'not met'}** (${cost(smallRates.sdk, smallRates.spout)}), ${bigMiB} MiB **${met(bigRates.sdk, bigRates.spout) ? 'met' : 'not met'}** (${cost(bigRates.sdk, bigRates.spout)}). ${bigMiB} MiB spout daemon CPU ${fmt(spBig.daemonCpuMs, 0)} ms, worker CPU ${fmt(spBig.workerCpuMs, 0)} ms per archive; SDK put daemon CPU ${fmt(sdkBig.daemonCpuMs, 0)} ms per file.`);

      const step = (label: string, xs: number[]): string[] => {
        const q = summarize(xs);
        return [label, fmt(q.p50, 2), fmt(q.p99, 2), fmt(q.mean, 2)];
      };
      out.push(`\nWhere a small archive's time goes: the spout worker makes two requests per archive, \`putTar\` into an upload session made ahead and \`commit\`, one archive's commit after the other; \`put file\` is one request, one transaction. The same calls from this process, one after another (${fmtInt(small)} each):\n`);
      out.push(table(['step', 'p50 ms', 'p99 ms', 'mean ms'], [
        step('`putFile` (one request: store, commit; nothing staged)', sdkSmall.each),
        step('`createUpload` (the worker makes it ahead of the archive)', sessions.create),
        step('`upload.putTar` of the one-entry archive (store, stage)', sessions.put),
        step('`upload.commit`', sessions.commit),
        step('for scale: write 4 KiB + `fsync` on this disk (100 times)', fsyncMs),
      ]));

      // 2. Latency.
      ctx.log(`latency: ${latN} archives of 1 KiB, ${latInterval} ms apart (after ${fmtInt(await waitQuiet(d))} ms waiting for the daemon to be quiet)`);
      const name = 'pipe-latency';
      await c.createPipeline(spoutSpec(name, ['python3', WRITER], { COUNT: String(latN), WARMUP: String(latWarm), SIZE: String(SMALL), STAMP: '1', INTERVAL: String(latInterval / 1000), DELAY: '1' }));
      const watcher = new CommitWatcher(c, name);
      const { commits } = await waitCommits(c, d, name, latN + latWarm);
      const lines = await waitStdout(c, name, /^done /);
      await assertOneRun(c, name);
      await watcher.stop();
      await dropPipeline(c, name);
      const closed = new Map<number, number>();
      for (const l of lines) {
        const m = /^closed (\d+) (\d+)$/.exec(l);
        if (m !== null) closed.set(Number(m[1]), Number(BigInt(m[2]!) / 1000n) / 1000);
      }
      const toFinished: number[] = [];
      const toSeen: number[] = [];
      for (let i = latWarm; i < latN + latWarm; i++) {
        const at = closed.get(i);
        const commit = commits[i];
        if (at === undefined || commit === undefined) throw new Error(`latency: no close stamp or commit for archive ${i}`);
        toFinished.push(commit.finished! - at);
        const seen = watcher.seen.get(commit.id);
        if (seen !== undefined) toSeen.push(seen - at);
      }
      const f = summarize(toFinished);
      const s = summarize(toSeen);
      ctx.log(`latency: finished p50 ${fmt(f.p50)} p99 ${fmt(f.p99)} ms; seen p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms`);
      out.push(`\n### Latency (${fmtInt(latN)} archives of 1 KiB, ${latInterval} ms apart, ${latWarm} uncounted first)\n`);
      out.push(table(['from the writer closing the pipe after an archive to', 'archives', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [
        latencyRow('its commit\'s `finished` time (daemon clock, ms resolution)', f),
        latencyRow('its commit seen by a `subscribeCommits` client', s),
      ]));
      out.push(`\nGoal: p99 under 20 ms: **${s.p99 < 20 ? 'met' : 'not met'}** (${fmt(s.p99)} ms to visible to a subscriber, ${fmt(f.p99)} ms to \`finished\`). Daemon peak RSS ${fmtMB(d.peakRssBytes())}.`);
    } finally {
      await c.close();
    }
    return { markdown: out.join('\n'), fullSize };
  },
};
