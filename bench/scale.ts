/**
 * scale: does cost grow with the change, not the history (DESIGN.md invariant 2)? Three
 * operations, each measured SCALE_SAMPLES times after a warm-up:
 *   - a one-file commit (SDK `putFile` to master, overwriting one existing small file),
 *   - `get file` of one small file (SDK `getFileBuffer`),
 *   - `list file` of one directory of 10 entries (SDK `listFile`),
 * on a repo of 1,000,000 files and 100,000 commits, against the same operations on an
 * empty-ish repo (one directory of 10 files) in a fresh store. The empty-ish repo is also
 * measured inside the big store, which separates the cost of a big repo from that of a big store
 * (shared chunk index and node table). Paths are picked at random, so the big repo is read
 * across its whole tree rather than from a hot corner of the cache. Samples are taken round-robin
 * across the three targets, so drift (write-back, compaction) hits all of them alike.
 *
 * The big repo is built through the SDK: SCALE_FILES files of a few bytes each, in folders of 10
 * (`/big/aNNNN/bNN/fN`), sent as tar streams generated on the fly (one `putTar`, and so one
 * commit, per SCALE_TAR_FILES files), then SCALE_COMMITS one-file commits to master, each
 * overwriting a random existing file, SCALE_CONCURRENCY at a time (commits to one branch are
 * serialized by the daemon; concurrency only overlaps the HTTP round trips). The daemon is then
 * restarted, so the measurements start from a daemon with cold caches on a store that is warm in
 * the OS page cache, as after a restart in production.
 *
 * Sizes: SCALE_FILES (1,000,000), SCALE_COMMITS (100,000), SCALE_TAR_FILES (100,000),
 * SCALE_CONCURRENCY (4), SCALE_SAMPLES (300), SCALE_WARMUP (20). Goal: ratio at most 1.5.
 */
import { join } from 'node:path';
import { Client } from '../src/client/index.js';
import { envInt, type BenchContext, type Benchmark } from './lib/bench.js';
import type { BenchDaemon } from './lib/daemon.js';
import { duBytes } from './lib/files.js';
import { table } from './lib/report.js';
import { fmt, fmtBytes, fmtDuration, fmtMB, fmtInt, msSince, summarize, type LatencySummary } from './lib/stats.js';
import { generateTar, prng } from './lib/tar-gen.js';

const BIG = 'big';
const SMALL = 'small';

function filePath(i: number): string {
  return `/big/a${String(Math.floor(i / 1000)).padStart(4, '0')}/b${String(Math.floor(i / 10) % 100).padStart(2, '0')}/f${i % 10}`;
}

function dirPath(leaf: number): string {
  return filePath(leaf * 10).replace(/\/f0$/, '');
}

type OpName = 'commit' | 'get' | 'list';
const OPS: readonly OpName[] = ['commit', 'get', 'list'];

interface Target {
  label: string;
  client: Client;
  daemon: BenchDaemon;
  repo: string;
  randomFile(): string;
  randomDir(): string;
}

async function op(t: Target, name: OpName, i: number): Promise<void> {
  if (name === 'commit') {
    await t.client.putFile(t.repo, 'master', t.randomFile(), Buffer.from(`measured ${i}\n`));
  } else if (name === 'get') {
    const b = await t.client.getFileBuffer(t.repo, 'master', t.randomFile());
    if (b.length === 0) throw new Error('empty file');
  } else {
    const list = await t.client.listFile(t.repo, 'master', t.randomDir());
    if (list.length !== 10) throw new Error(`listed ${list.length} entries, expected 10`);
  }
}

interface Built {
  tarMs: number;
  tarCalls: number;
  historyMs: number;
  peakRss: number;
  /** RSS of the daemon as the history grew: [commits done, bytes]. */
  rssCurve: Array<[number, number]>;
  /** Daemon deaths while building (it was restarted on the same port and the build went on). */
  crashes: Crash[];
}

interface Crash {
  /** History commits done when it died. */
  after: number;
  peak: number;
  reason: string;
}

/**
 * Builds the big repo through the SDK. If the daemon dies while building (it is a finding, not
 * a reason to give up the measurement), it is restarted on the same port and data, and the
 * commit that failed is retried; committed history is durable, so nothing is lost.
 */
async function buildBigRepo(ctx: BenchContext, dataDir: string, files: number, commits: number, perTar: number, concurrency: number): Promise<Built & { daemon: BenchDaemon }> {
  // Not profiled: an hour of samples says less than the measurement phase, which is.
  let d = await ctx.startDaemon('build', dataDir, { profile: false });
  const client = new Client({ address: d.address, connections: concurrency + 2 });
  const crashes: Crash[] = [];
  let peak = 0;
  let restarting: Promise<void> | undefined;
  let done = 0;
  const restart = (): Promise<void> => {
    restarting ??= (async () => {
      peak = Math.max(peak, d.peakRssBytes());
      // The first fatal line says why (V8's "JavaScript heap out of memory"); else the last line.
      const err = d.stderr();
      const why = /FATAL ERROR[^\n]*/.exec(err)?.[0] ?? err.trim().split('\n').at(-1) ?? '';
      crashes.push({ after: done, peak: d.peakRssBytes(), reason: `${d.exitReason ?? 'no response'}: ${why.trim().slice(0, 200)}` });
      ctx.log(`daemon died after ${fmtInt(done)} commits at ${fmtMB(d.peakRssBytes())} peak RSS (${d.exitReason ?? '?'}: ${why.slice(0, 200)}); restarting`);
      await ctx.stopDaemon(d);
      d = await ctx.startDaemon('build-restarted', dataDir, { port: d.port, profile: false });
    })().finally(() => {
      restarting = undefined;
    });
    return restarting;
  };
  try {
    await client.createRepo(BIG);
    const t0 = process.hrtime.bigint();
    let calls = 0;
    for (let first = 0; first < files; first += perTar) {
      const count = Math.min(perTar, files - first);
      const t = process.hrtime.bigint();
      await client.putTar(BIG, 'master', '/', generateTar(first, count, (i) => ({ name: filePath(i).slice(1), body: Buffer.from(`file ${i}\n`) })));
      calls++;
      const ms = msSince(t);
      ctx.log(`putTar ${calls}: files ${fmtInt(first)}..${fmtInt(first + count)} in ${fmtDuration(ms)} (${fmtInt(count / (ms / 1000))} files/s), daemon RSS ${fmtMB(d.rssBytes())}`);
    }
    const tarMs = msSince(t0);

    const rand = prng(1);
    let next = 0;
    const step = Math.max(1, Math.floor(commits / 20));
    const rssCurve: Array<[number, number]> = [[0, d.rssBytes()]];
    const t1 = process.hrtime.bigint();
    let lastLog = t1;
    const worker = async (): Promise<void> => {
      while (next < commits) {
        const i = next++;
        const path = filePath(Math.floor(rand() * files));
        for (;;) {
          try {
            await client.putFile(BIG, 'master', path, Buffer.from(`history ${i}\n`));
            break;
          } catch (err) {
            // A dead daemon (or one that died mid-request) is restarted; anything else is a failure.
            await new Promise((r) => setTimeout(r, 200));
            if (d.alive && restarting === undefined) throw err;
            await restart();
          }
        }
        done++;
        if (done % step === 0) {
          const now = process.hrtime.bigint();
          const recent = Number(now - lastLog) / 1e9;
          lastLog = now;
          rssCurve.push([done, d.rssBytes()]);
          ctx.log(`history: ${fmtInt(done)}/${fmtInt(commits)} commits, ${fmtInt(step / recent)} commits/s lately, daemon RSS ${fmtMB(d.rssBytes())}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, () => worker()));
    const historyMs = msSince(t1);
    peak = Math.max(peak, d.peakRssBytes());
    return { tarMs, tarCalls: calls, historyMs, peakRss: peak, rssCurve, crashes, daemon: d };
  } finally {
    await client.close();
  }
}

/** One paragraph: how often the daemon died, at what memory, and why (distinct reasons). */
function crashSummary(crashes: readonly Crash[]): string {
  const reasons = [...new Set(crashes.map((c) => c.reason))];
  return [
    `**The daemon died ${crashes.length} time(s) while building** (each time it was restarted on the same data and the build went on),`,
    `after ${crashes.map((c) => `${fmtInt(c.after)} (${fmtMB(c.peak)})`).join(', ')} history commits (peak RSS before each death in brackets).`,
    `Cause${reasons.length === 1 ? '' : 's'}: ${reasons.map((r) => `\`${r}\``).join('; ')}.`,
  ].join(' ');
}

async function makeSmallRepo(client: Client): Promise<void> {
  await client.createRepo(SMALL);
  await client.putTar(SMALL, 'master', '/', generateTar(0, 10, (i) => ({ name: `dir/f${i}`, body: Buffer.from(`small ${i}\n`) })));
}

export const scale: Benchmark = {
  name: 'scale',
  heading: '4. scale: commit, get and list on a repo of 1,000,000 files and 100,000 commits, against an empty-ish repo',
  minFreeBytes: 25 * 1024 * 1024 * 1024,
  async run(ctx) {
    const files = envInt('SCALE_FILES', 1_000_000);
    const commits = envInt('SCALE_COMMITS', 100_000);
    const perTar = envInt('SCALE_TAR_FILES', 100_000);
    const concurrency = envInt('SCALE_CONCURRENCY', 4);
    const samples = envInt('SCALE_SAMPLES', 300);
    const warmup = envInt('SCALE_WARMUP', 20);
    if (files < 10 || files % 10 !== 0) throw new Error('SCALE_FILES must be a multiple of 10');

    const bigDir = join(ctx.dir, 'data-big');
    ctx.log(`building: ${fmtInt(files)} files, then ${fmtInt(commits)} one-file commits`);
    const built = await buildBigRepo(ctx, bigDir, files, commits, perTar, concurrency);
    await ctx.stopDaemon(built.daemon);
    const storeBytes = await duBytes(bigDir);

    const big = await ctx.startDaemon('big', bigDir);
    const fresh = await ctx.startDaemon('fresh');
    const cBig = new Client({ address: big.address });
    const cFresh = new Client({ address: fresh.address });
    const rand = prng(2);
    const smallTarget = (label: string, client: Client, daemon: BenchDaemon): Target => ({
      label, client, daemon, repo: SMALL,
      randomFile: () => `/dir/f${Math.floor(rand() * 10)}`,
      randomDir: () => '/dir',
    });
    const targets: Target[] = [
      smallTarget('empty-ish repo, fresh store', cFresh, fresh),
      smallTarget('empty-ish repo, in the big store', cBig, big),
      { label: 'big repo', client: cBig, daemon: big, repo: BIG, randomFile: () => filePath(Math.floor(rand() * files)), randomDir: () => dirPath(Math.floor(rand() * (files / 10))) },
    ];
    const results = new Map<string, LatencySummary>();
    /** Daemon CPU per operation, ms (summed over the samples: ticks are 10 ms). */
    const cpu = new Map<string, number>();
    let depth: number;
    try {
      const head = await cBig.inspectCommit(BIG, 'master');
      depth = head.depth;
      const top = await cBig.listFile(BIG, 'master', '/big');
      ctx.log(`big repo: head depth ${fmtInt(depth)}, ${fmtInt(top.length)} folders under /big, ${fmtBytes(head.sizeBytes)}`);
      await makeSmallRepo(cFresh);
      await makeSmallRepo(cBig);
      for (const name of OPS) {
        ctx.log(`${name}: ${warmup} warm-up + ${samples} samples on each target`);
        const lat = targets.map(() => [] as number[]);
        const cpuSum = targets.map(() => 0);
        for (let s = -warmup; s < samples; s++) {
          for (const [k, t] of targets.entries()) {
            const cpu0 = t.daemon.cpuMs();
            const start = process.hrtime.bigint();
            await op(t, name, s);
            if (s >= 0) {
              lat[k]!.push(msSince(start));
              cpuSum[k] = cpuSum[k]! + t.daemon.cpuMs() - cpu0;
            }
          }
        }
        targets.forEach((t, k) => {
          results.set(`${name}/${t.label}`, summarize(lat[k]!));
          cpu.set(`${name}/${t.label}`, cpuSum[k]! / samples);
        });
      }
    } finally {
      await cBig.close();
      await cFresh.close();
    }
    await ctx.stopDaemon(big);
    await ctx.stopDaemon(fresh);

    const r = (name: OpName, label: string): LatencySummary => results.get(`${name}/${label}`)!;
    const c = (name: OpName, label: string): string => fmt(cpu.get(`${name}/${label}`) ?? Number.NaN, 2);
    const base = targets[0]!.label;
    const opLabel: Record<OpName, string> = {
      commit: 'one-file commit (`putFile` to master)',
      get: '`get file` of one small file',
      list: '`list file` of a folder of 10 entries',
    };
    const rows = OPS.map((name) => {
      const b = r(name, base);
      const m = r(name, targets[1]!.label);
      const g = r(name, targets[2]!.label);
      const ratio50 = g.p50 / b.p50;
      return [
        opLabel[name],
        `${fmt(b.p50, 2)} / ${fmt(b.p99, 2)}`,
        `${fmt(m.p50, 2)} / ${fmt(m.p99, 2)}`,
        `${fmt(g.p50, 2)} / ${fmt(g.p99, 2)}`,
        `${fmt(ratio50, 2)}x / ${fmt(g.p99 / b.p99, 2)}x`,
        ratio50 <= 1.5 ? 'met' : '**not met**',
      ];
    });
    const totalCommits = built.tarCalls + commits;
    const markdown = [
      `The big repo: ${fmtInt(files)} files of a few bytes in folders of 10, and ${fmtInt(totalCommits)} commits (${built.tarCalls} \`putTar\` commits, then ${fmtInt(commits)} one-file commits; head depth ${fmtInt(depth)}). Each operation ${samples} times per target after ${warmup} warm-up runs, round-robin across targets, through one long-lived SDK client per daemon; the daemon holding the big repo was restarted after building.`,
      '',
      table(
        ['operation (ms, p50 / p99)', 'empty-ish repo, fresh store', 'empty-ish repo, big store', 'big repo', 'big / empty-ish (p50 / p99)', 'goal: p50 ratio <= 1.5'],
        rows,
      ),
      '',
      'Daemon CPU per operation (ms; the kernel counts in 10 ms ticks, averaged over the samples):',
      '',
      table(
        ['operation', 'empty-ish repo, fresh store', 'empty-ish repo, big store', 'big repo'],
        OPS.map((name) => [opLabel[name], ...targets.map((t) => c(name, t.label))]),
      ),
      '',
      table(
        ['building the big repo', 'time', 'rate'],
        [
          [`${fmtInt(files)} files in ${built.tarCalls} \`putTar\` calls (tar generated on the fly)`, fmtDuration(built.tarMs), `${fmtInt(files / (built.tarMs / 1000))} files/s`],
          [`${fmtInt(commits)} one-file commits, ${concurrency} in flight`, fmtDuration(built.historyMs), `${fmtInt(commits / (built.historyMs / 1000))} commits/s`],
        ],
      ),
      '',
      `Store on disk ${fmtBytes(storeBytes)}. Daemon peak RSS (VmHWM) while building: ${fmtMB(built.peakRss)}; while measuring: ${fmtMB(big.peakRssBytes())}. Restart on the big store (spawn to listening): ${fmtDuration(big.startMs)}, against ${fmtDuration(fresh.startMs)} on an empty one.`,
      '',
      `Daemon RSS as the history grew (commits: RSS): ${built.rssCurve.filter((_, k) => k % 4 === 0 || k === built.rssCurve.length - 1).map(([n, b]) => `${fmtInt(n)}: ${fmtMB(b)}`).join(', ')}.`,
      ...(built.crashes.length === 0 ? [] : ['', crashSummary(built.crashes)]),
    ].join('\n');
    return { markdown, fullSize: files === 1_000_000 && commits === 100_000 && samples >= 200 };
  },
};
