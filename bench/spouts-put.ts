/**
 * spouts-put: spouts 2.0 (issue 5), user code inside a spout writing with `put file`, as it finds
 * the daemon on its own (PACH_CONFIG), side by side:
 *
 * 1. Throughput from inside a spout:
 *    - the CLI, a process per put: bench/fixtures/spout-cli.sh runs
 *      `pachctl put file $PPS_PIPELINE_NAME@master:/f -f /tmp/x` in a loop (1 KiB each);
 *    - the SDK, one long-lived client: bench/fixtures/spout-sdk.mjs (`new Client()`) calls
 *      `putFile(repo, 'master', '/f', 1 KiB)` in a loop; the same loop from this process, outside
 *      any spout, for reference;
 *    - batches: the same script makes 1,000 messages of 1 KiB per commit, one upload per batch
 *      (`createUpload`, `putTar` of 1,000 entries, `commit`): messages/s. Goal: 50,000/s.
 *    Rates run from the last warm-up commit's `finished` time to the last commit's.
 * 2. Latency from a message entering the spout's code (the moment it is made: `date +%s%N`
 *    printed by the shell before each put, or the SDK script's wall clock, kept in the commit's
 *    description) to its commit's `finished` time, for each throughput series (one message
 *    after another, so no message waits behind another); and, for a paced SDK spout with a
 *    downstream pipeline (`date +%s%N > /pfs/out/started`, like bench/pipelines.ts's `stamp`), to
 *    the commit seen by a subscriber and to the downstream job's user code starting.
 *
 * One daemon serves every series, warmed up first (`warmDaemon` in spouts-pipe.ts).
 *
 * Where the time goes: daemon CPU per commit (from /proc), the start-up of one CLI process
 * (`version --client-only`, no daemon involved), and with BENCH_PROFILE the daemon's profile
 * (the workers only wait here: user code does the work).
 *
 * Sizes: PUT_CLI (default 100 commits, after 5 uncounted), PUT_SDK (default 1,000, after 20),
 * PUT_BATCHES (default 100 batches of 1,000, after 3), PUT_LATENCY (default 200 messages, after
 * 10), PUT_LATENCY_INTERVAL_MS (default 250).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Client, type CommitInfo, type JobInfo } from '../src/client/index.js';
import { envInt, type Benchmark } from './lib/bench.js';
import type { BenchDaemon } from './lib/daemon.js';
import { run } from './lib/exec.js';
import { BUILD_ROOT, cliEntry, cliLabel } from './lib/paths.js';
import { table } from './lib/report.js';
import { fmt, fmtInt, fmtMB, msSince, summarize, type LatencySummary } from './lib/stats.js';
import {
  CommitWatcher, FIXTURES, assertOneRun, cpuPerCommit, dropPipeline, latencyRow, spoutSpec, waitCommits, waitQuiet, waitStdout, warmDaemon,
} from './spouts-pipe.js';

const SDK_SCRIPT = join(FIXTURES, 'spout-sdk.mjs');
const CLI_SCRIPT = join(FIXTURES, 'spout-cli.sh');
const CLIENT_MODULE = pathToFileURL(join(BUILD_ROOT, 'src', 'client', 'index.js')).href;
const MESSAGE = 1024;
const BATCH = 1000;

interface Series {
  what: string;
  commits: number;
  messagesPerCommit: number;
  /** ms from the last warm-up commit to the last commit. */
  ms: number;
  daemonCpuMs: number;
  /** Message entering the code to its commit's `finished`. */
  latency: LatencySummary | undefined;
}

/** `entered <ms>` in a commit's description. */
function enteredOf(commit: CommitInfo): number {
  const m = /^entered ([\d.]+)$/.exec(commit.description);
  if (m === null) throw new Error(`commit ${commit.id} has no entered time: ${JSON.stringify(commit.description)}`);
  return Number(m[1]);
}

async function sdkSpout(
  c: Client, d: BenchDaemon, name: string, what: string,
  env: { MODE: 'single' | 'batch'; COUNT: number; WARMUP: number; INTERVAL_MS?: number },
): Promise<Series & { all: CommitInfo[] }> {
  await c.createPipeline(spoutSpec(name, [process.execPath, SDK_SCRIPT], {
    CLIENT_MODULE, MODE: env.MODE, COUNT: String(env.COUNT), WARMUP: String(env.WARMUP), SIZE: String(MESSAGE), BATCH: String(BATCH),
    INTERVAL_MS: String(env.INTERVAL_MS ?? 0),
  }));
  const { commits, first, last } = await waitCommits(c, d, name, env.COUNT + env.WARMUP, { from: env.WARMUP });
  await assertOneRun(c, name);
  if (commits.length !== env.COUNT + env.WARMUP) throw new Error(`${name}: ${commits.length} commits, expected ${env.COUNT + env.WARMUP}`);
  const measured = commits.slice(env.WARMUP);
  const cpu = cpuPerCommit(first, last);
  return {
    what, commits: env.COUNT, messagesPerCommit: env.MODE === 'batch' ? BATCH : 1,
    ms: measured.at(-1)!.finished! - commits[env.WARMUP - 1]!.finished!,
    daemonCpuMs: cpu.daemon,
    latency: summarize(measured.map((x) => x.finished! - enteredOf(x))),
    all: commits,
  };
}

async function waitJob(c: Client, pipeline: string, id: string): Promise<JobInfo> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await c.waitJob(pipeline, id);
    } catch (err) {
      // The job is made right after the commit event; poll until it exists.
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export const spoutsPut: Benchmark = {
  name: 'spouts-put',
  heading: '7. spouts-put: put file from inside a spout (CLI, SDK, batches), commit and downstream latency',
  minFreeBytes: 2 * 1024 * 1024 * 1024,
  async run(ctx) {
    const nCli = envInt('PUT_CLI', 100);
    const nSdk = envInt('PUT_SDK', 1000);
    const nBatches = envInt('PUT_BATCHES', 100);
    const nLat = envInt('PUT_LATENCY', 200);
    const latInterval = envInt('PUT_LATENCY_INTERVAL_MS', 250);
    const fullSize = nCli === 100 && nSdk === 1000 && nBatches === 100 && nLat === 200 && latInterval === 250;
    const warm = { cli: 5, sdk: 20, batch: 3, lat: 10 };

    // The start-up of one CLI process, no daemon involved: what each `pachctl` in a loop pays first.
    const startup: number[] = [];
    for (let i = 0; i < 20; i++) startup.push((await run(process.execPath, [cliEntry(), 'version', '--client-only'])).ms);

    // The workers only wait here (user code does the work): the daemon alone is profiled.
    const d = await ctx.startDaemon('spouts-put');
    const c = new Client({ address: d.address });
    ctx.log('warming the daemon up');
    await warmDaemon(c);
    // What the idle daemon burns, which counts against slow series' CPU per commit.
    const idle0 = d.cpuMs();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuPerSec = (d.cpuMs() - idle0) / 3;
    const series: Series[] = [];
    const out: string[] = [];
    try {
      // 1. CLI, a process per put.
      ctx.log(`CLI in a spout: ${nCli} puts`);
      {
        const name = 'put-cli';
        await c.createPipeline(spoutSpec(name, ['sh', CLI_SCRIPT], { COUNT: String(nCli), WARMUP: String(warm.cli), SIZE: String(MESSAGE) }));
        // Polled once a second: each poll costs the daemon a little CPU, which would count against commits this slow.
        const { commits, first, last } = await waitCommits(c, d, name, nCli + warm.cli, { from: warm.cli, pollMs: 1000 });
        const lines = await waitStdout(c, name, /^done /);
        await assertOneRun(c, name);
        await dropPipeline(c, name);
        const entered = new Map<number, number>();
        for (const l of lines) {
          const m = /^enter (\d+) (\d+)$/.exec(l);
          if (m !== null) entered.set(Number(m[1]), Number(BigInt(m[2]!) / 1000n) / 1000);
        }
        const lat: number[] = [];
        for (let i = warm.cli; i < commits.length; i++) {
          const at = entered.get(i);
          if (at === undefined) throw new Error(`CLI spout: no enter stamp for put ${i}`);
          lat.push(commits[i]!.finished! - at);
        }
        const cpu = cpuPerCommit(first, last);
        series.push({
          what: `CLI in the spout, a process per put: \`pachctl put file $PPS_PIPELINE_NAME@master:/f -f /tmp/x\``, commits: nCli, messagesPerCommit: 1,
          ms: commits.at(-1)!.finished! - commits[warm.cli - 1]!.finished!, daemonCpuMs: cpu.daemon, latency: summarize(lat),
        });
      }

      // 2. SDK, one long-lived client, one message per commit.
      ctx.log(`SDK in a spout: ${nSdk} putFile commits`);
      const sdk = await sdkSpout(c, d, 'put-sdk', 'SDK in the spout, one long-lived `new Client()`: `putFile(repo, "master", "/f", 1 KiB)`', { MODE: 'single', COUNT: nSdk, WARMUP: warm.sdk });
      await dropPipeline(c, 'put-sdk');
      series.push(sdk);

      // The same loop from this process, outside any spout.
      ctx.log(`SDK outside a spout: ${nSdk} putFile commits`);
      {
        await c.createRepo('outside');
        const pool = randomBytes(MESSAGE);
        const lat: number[] = [];
        let cpu0 = 0;
        let start = 0n;
        for (let i = 0; i < nSdk + warm.sdk; i++) {
          if (i === warm.sdk) {
            start = process.hrtime.bigint();
            cpu0 = d.cpuMs();
          }
          const body = Buffer.from(pool);
          body.write(`${i} `, 0);
          const t = process.hrtime.bigint();
          await c.putFile('outside', 'master', '/f', body);
          if (i >= warm.sdk) lat.push(msSince(t));
        }
        series.push({
          what: 'for reference: the same `putFile` loop from the bench process, outside any spout', commits: nSdk, messagesPerCommit: 1,
          ms: msSince(start), daemonCpuMs: (d.cpuMs() - cpu0) / nSdk, latency: summarize(lat),
        });
      }

      // 3. Batches of 1,000 messages.
      ctx.log(`SDK in a spout: ${nBatches} batches of ${BATCH} messages`);
      const batches = await sdkSpout(c, d, 'put-batch', `SDK in the spout, ${fmtInt(BATCH)} messages of 1 KiB per commit: \`createUpload\`, \`putTar\` of ${fmtInt(BATCH)} entries, \`commit\``, { MODE: 'batch', COUNT: nBatches, WARMUP: warm.batch });
      const head = batches.all.at(-1)!;
      if (head.sizeBytes !== (nBatches + warm.batch) * BATCH * MESSAGE) throw new Error(`put-batch: the head holds ${head.sizeBytes} bytes, expected ${(nBatches + warm.batch) * BATCH * MESSAGE}`);
      await dropPipeline(c, 'put-batch');
      series.push(batches);

      const rateOf = (s: Series): number => (s.commits / (s.ms / 1000));
      const msgRate = (s: Series): number => rateOf(s) * s.messagesPerCommit;
      for (const s of series) ctx.log(`${s.what.slice(0, 40)}: ${fmt(rateOf(s))} commits/s, ${fmt(msgRate(s), 0)} messages/s`);
      out.push('### Throughput (one series after another, each on its own spout)\n');
      out.push(table(
        ['series', 'commits', 'commits/s', 'messages/s', 'daemon CPU ms per commit', 'entered → `finished` p50 ms', 'p99 ms'],
        series.map((s) => [
          s.what, fmtInt(s.commits), fmt(rateOf(s), 1), fmt(msgRate(s), 0), fmt(s.daemonCpuMs, 2),
          s.latency === undefined ? '' : fmt(s.latency.p50, 1), s.latency === undefined ? '' : fmt(s.latency.p99, 1),
        ]),
      ));
      const st = summarize(startup);
      const batchRate = msgRate(batches);
      out.push(`\nGoal: 50,000 messages/s batched: **${batchRate >= 50_000 ? 'met' : 'not met'}** (${fmt(batchRate, 0)}/s). One CLI process's start-up alone (\`${cliLabel().replace(/`/g, '')} version --client-only\`, no daemon call): p50 ${fmt(st.p50, 0)} ms, p99 ${fmt(st.p99, 0)} ms over 20; that is what a process per put pays before its first request. The idle daemon used ${fmt(idleCpuPerSec, 1)} ms of CPU per second, which counts against the slow series' CPU per commit. Latency here is one message after another, from the message being made to its commit's \`finished\` time.`);

      // 4. Latency to visible and to the downstream job, paced.
      ctx.log(`latency: ${nLat} messages ${latInterval} ms apart, with a downstream pipeline (after ${fmtInt(await waitQuiet(d))} ms waiting for the daemon to be quiet)`);
      const name = 'put-latency';
      await c.createPipeline(spoutSpec(name, [process.execPath, SDK_SCRIPT], {
        CLIENT_MODULE, MODE: 'single', COUNT: String(nLat), WARMUP: String(warm.lat), SIZE: String(MESSAGE), INTERVAL_MS: String(latInterval), DELAY_MS: '1000',
      }));
      const watcher = new CommitWatcher(c, name);
      await c.createPipeline(JSON.stringify({
        pipeline: { name: 'put-stamp' },
        input: { pfs: { repo: name, glob: '/' } },
        transform: { cmd: ['sh', '-c', 'date +%s%N > /pfs/out/started'] },
      }));
      const { commits } = await waitCommits(c, d, name, nLat + warm.lat);
      await watcher.stop();
      await assertOneRun(c, name);
      const toFinished: number[] = [];
      const toSeen: number[] = [];
      const toJob: number[] = [];
      for (const commit of commits.slice(warm.lat)) {
        const entered = enteredOf(commit);
        toFinished.push(commit.finished! - entered);
        const seen = watcher.seen.get(commit.id);
        if (seen !== undefined) toSeen.push(seen - entered);
        const job = await waitJob(c, 'put-stamp', commit.id);
        if (job.state !== 'success') throw new Error(`downstream job ${commit.id} ${job.state}: ${job.reason}`);
        const started = Number(BigInt((await c.getFileBuffer('put-stamp', commit.id, '/started')).toString().trim()) / 1000n) / 1000;
        toJob.push(started - entered);
      }
      await c.deletePipeline('put-stamp');
      await dropPipeline(c, name);
      const f = summarize(toFinished);
      const s = summarize(toSeen);
      const j = summarize(toJob);
      ctx.log(`latency: finished p50 ${fmt(f.p50)} p99 ${fmt(f.p99)}; seen p50 ${fmt(s.p50)} p99 ${fmt(s.p99)}; downstream start p50 ${fmt(j.p50)} p99 ${fmt(j.p99)} ms`);
      out.push(`\n### Latency (${fmtInt(nLat)} messages of 1 KiB, ${latInterval} ms apart, ${warm.lat} uncounted first; SDK spout, one message per commit)\n`);
      out.push(table(['from the message entering the spout\'s code to', 'messages', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [
        latencyRow('its commit\'s `finished` time (daemon clock, ms resolution)', f),
        latencyRow('its commit seen by a `subscribeCommits` client', s),
        latencyRow('the downstream job\'s user code starting (`date +%s%N`)', j),
      ]));
      out.push(`\nDaemon peak RSS ${fmtMB(d.peakRssBytes())}.`);
    } finally {
      await c.close();
    }
    return { markdown: out.join('\n'), fullSize };
  },
};
