/**
 * put-get-1g: one 1 GiB file of random bytes put into a repo and read back, through the CLI
 * (`put file repo@master:/big -f FILE`, `get file repo@master:/big -o OUT`) and through the SDK,
 * against `cp` of the same file on the same disk. The daemon fsyncs what it stores (pack, then
 * its folder) before it answers, so the fair comparison for a put is `cp` followed by
 * `sync FILE DIR` (fsync of the copy and of its folder); plain `cp` is shown too. A get does not
 * fsync, so it compares with plain `cp`. The source file is in the page cache for every run
 * (written just before; the machine has room), so no side pays for reading the disk. Each
 * timed step starts after a system-wide `sync`, so none pays for the previous one's write-back.
 *
 * Also: the daemon's peak RSS (VmHWM) over its whole life (goal: under 300 MB: streaming, not
 * buffering), the store's size on disk, and a second put of the same bytes (every chunk already
 * stored, so only hashing and the commit remain).
 *
 * Size: PUT_GET_BYTES (default 1 GiB). Goal: put and get at least 0.7x `cp`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from '../src/client/index.js';
import { chunkStream, hashChunk } from '../src/storage/objects/index.js';
import { envInt, type BenchContext, type Benchmark } from './lib/bench.js';
import { run } from './lib/exec.js';
import type { BenchDaemon } from './lib/daemon.js';
import { assertSameFile, duBytes, syncAll, writeRandomFile } from './lib/files.js';
import { cliLabel } from './lib/paths.js';
import { table } from './lib/report.js';
import { fmt, fmtBytes, fmtDuration, fmtMB, mbPerSec, msSince } from './lib/stats.js';

const GIB = 1024 * 1024 * 1024;
const REPO = 'bench';

interface Row {
  what: string;
  ms: number;
  /** Which cp figure it is held against: the put side (cp + sync) or the get side (cp). */
  against: 'put' | 'get' | 'none';
  /** CPU the daemon used during the operation. */
  daemonCpuMs?: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  await syncAll();
  const start = process.hrtime.bigint();
  await fn();
  return msSince(start);
}

/** Times a Sluice operation and the daemon CPU it took. */
async function onDaemon(d: BenchDaemon, what: string, against: Row['against'], fn: () => Promise<unknown>): Promise<Row> {
  await syncAll();
  const cpu0 = d.cpuMs();
  const start = process.hrtime.bigint();
  await fn();
  const ms = msSince(start);
  return { what, ms, against, daemonCpuMs: d.cpuMs() - cpu0 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measureCp(ctx: BenchContext, src: string, rounds: number): Promise<{ cp: number; cpSync: number }> {
  const cps: number[] = [];
  const cpSyncs: number[] = [];
  const dst = join(ctx.dir, 'cp-out', 'copy.bin');
  await run('mkdir', ['-p', join(ctx.dir, 'cp-out')]);
  for (let i = 0; i < rounds; i++) {
    cps.push(await timed(() => run('cp', [src, dst])));
    await rm(dst);
    cpSyncs.push(await timed(async () => {
      await run('cp', [src, dst]);
      await run('sync', [dst, join(ctx.dir, 'cp-out')]);
    }));
    await rm(dst);
  }
  return { cp: median(cps), cpSync: median(cpSyncs) };
}

/**
 * What one core of this machine does with the same bytes, in this process: the work a put cannot
 * avoid (read, FastCDC, SHA-256), so the gap to `cp` can be split between the algorithm's cost
 * and the daemon's plumbing. Best of two passes (the first warms the JIT).
 */
async function ceilings(src: string): Promise<Array<[string, number]>> {
  const passes: Array<[string, () => Promise<number>]> = [
    ['read (`createReadStream`, 64 KiB pieces)', async () => {
      let n = 0;
      for await (const piece of createReadStream(src)) n += (piece as Buffer).length;
      return n;
    }],
    ['read + SHA-256 of each 1 MiB (`crypto.createHash`)', async () => {
      let n = 0;
      for await (const piece of createReadStream(src, { highWaterMark: 1024 * 1024 })) {
        hashChunk(piece as Buffer);
        n += (piece as Buffer).length;
      }
      return n;
    }],
    ['read + FastCDC chunking (`chunkStream`)', async () => {
      let n = 0;
      for await (const chunk of chunkStream(createReadStream(src))) n += chunk.length;
      return n;
    }],
    ['read + FastCDC + SHA-256 of each chunk', async () => {
      let n = 0;
      for await (const chunk of chunkStream(createReadStream(src))) {
        hashChunk(chunk);
        n += chunk.length;
      }
      return n;
    }],
  ];
  const out: Array<[string, number]> = [];
  for (const [label, pass] of passes) {
    let best = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (let i = 0; i < 2; i++) {
      const start = process.hrtime.bigint();
      bytes = await pass();
      best = Math.min(best, msSince(start));
    }
    out.push([label, mbPerSec(bytes, best)]);
  }
  return out;
}

export const putGet1g: Benchmark = {
  name: 'put-get-1g',
  heading: '1. put-get-1g: put and get one 1 GiB file, against cp',
  minFreeBytes: 5 * GIB,
  async run(ctx) {
    const bytes = envInt('PUT_GET_BYTES', GIB);
    const src = join(ctx.dir, 'source.bin');
    ctx.log(`writing ${fmtBytes(bytes)} of random bytes`);
    await writeRandomFile(src, bytes);
    await syncAll();

    ctx.log('cp and cp + sync, 3 rounds each');
    const cp = await measureCp(ctx, src, 3);
    const rows: Row[] = [
      { what: '`cp` (median of 3)', ms: cp.cp, against: 'get' },
      { what: '`cp` + `sync FILE DIR` (median of 3)', ms: cp.cpSync, against: 'put' },
    ];

    ctx.log('single-core ceilings: read, SHA-256, FastCDC');
    const limits = await ceilings(src);

    // Daemon A: the CLI, as a user runs it.
    const a = await ctx.startDaemon('cli');
    const cli = await ctx.cli(a);
    await cli.run(['create', 'repo', REPO]);
    ctx.log('CLI put file');
    rows.push(await onDaemon(a, `CLI \`put file ${REPO}@master:/big -f FILE\``, 'put', () => cli.profiled(['put', 'file', `${REPO}@master:/big`, '-f', src])));
    const storeA = await duBytes(a.dataDir);
    const outA = join(ctx.dir, 'get-cli.bin');
    ctx.log('CLI get file -o');
    rows.push(await onDaemon(a, `CLI \`get file ${REPO}@master:/big -o OUT\``, 'get', () => cli.profiled(['get', 'file', `${REPO}@master:/big`, '-o', outA])));
    await assertSameFile(src, outA);
    await rm(outA);
    await ctx.stopDaemon(a);

    // Daemon B: the SDK, from this process (one long-lived client).
    const b = await ctx.startDaemon('sdk');
    const client = new Client({ address: b.address });
    const outB = join(ctx.dir, 'get-sdk.bin');
    try {
      await client.createRepo(REPO);
      ctx.log('SDK putFile');
      rows.push(await onDaemon(b, 'SDK `putFile(repo, "master", "/big", createReadStream(FILE))`', 'put', () => client.putFile(REPO, 'master', '/big', createReadStream(src))));
      ctx.log('SDK getFile');
      rows.push(await onDaemon(b, 'SDK `getFile(...)` piped to a file', 'get', async () => pipeline(await client.getFile(REPO, 'master', '/big'), createWriteStream(outB))));
      await assertSameFile(src, outB);
      await rm(outB);
      ctx.log('CLI put of the same bytes again (all chunks known)');
      const cliB = await ctx.cli(b);
      rows.push(await onDaemon(b, 'CLI `put file` of the same bytes again (deduplicated: no chunk written)', 'none', () => cliB.run(['put', 'file', `${REPO}@master:/again`, '-f', src])));
    } finally {
      await client.close();
    }
    await ctx.stopDaemon(b);

    const mb = (ms: number): string => fmt(mbPerSec(bytes, ms), 0);
    const vs = (r: Row): string => (r.against === 'none' ? '' : `${fmt(cp.cp / r.ms, 2)}x`);
    const vsSync = (r: Row): string => (r.against === 'put' ? `${fmt(cp.cpSync / r.ms, 2)}x` : '');
    const main = table(
      ['operation', 'time', 'MB/s', 'vs `cp`', 'vs `cp` + sync', 'daemon CPU'],
      rows.map((r) => [r.what, fmtDuration(r.ms), mb(r.ms), vs(r), vsSync(r), r.daemonCpuMs === undefined ? '' : `${fmtDuration(r.daemonCpuMs)} (${fmt((100 * r.daemonCpuMs) / r.ms, 0)}%)`]),
    );
    const peakGoal = 300 * 1e6;
    const mem = table(
      ['daemon', 'peak RSS (VmHWM)', 'goal < 300 MB', 'store on disk after the put'],
      [
        ['A: CLI put + get', fmtMB(a.peakRssBytes()), a.peakRssBytes() < peakGoal ? 'met' : '**not met**', fmtBytes(storeA)],
        ['B: SDK put + get, then the deduplicated put', fmtMB(b.peakRssBytes()), b.peakRssBytes() < peakGoal ? 'met' : '**not met**', ''],
      ],
    );
    const putRatio = Math.min(...rows.filter((r) => r.against === 'put' && !r.what.startsWith('`cp`')).map((r) => cp.cpSync / r.ms));
    const getRatio = Math.min(...rows.filter((r) => r.against === 'get' && !r.what.startsWith('`cp`')).map((r) => cp.cp / r.ms));
    const markdown = [
      `${fmtBytes(bytes)} of random bytes; MB/s are 10^6 bytes per second; times from spawn to exit for commands (CLI: ${cliLabel()}, node start-up included), from call to resolution for the SDK. The source file is in the page cache.`,
      '',
      main,
      '',
      `Slowest put against \`cp\` + sync: **${fmt(putRatio, 2)}x**; slowest get against \`cp\`: **${fmt(getRatio, 2)}x** (goal: at least 0.7x).`,
      '',
      mem,
      '',
      'The work a put cannot avoid, on one core of this machine, in one process (best of two passes over the same file):',
      '',
      table(['pass over the file', 'MB/s'], limits.map(([label, v]) => [label, fmt(v, 0)])),
    ].join('\n');
    return { markdown, fullSize: bytes === GIB };
  },
};
