/**
 * commits-1k: 1,000 sequential one-file commits through the SDK (one long-lived `Client`,
 * `putFile(repo, 'master', '/f', small buffer)`, each awaited before the next), against 1,000
 * sequential `git add f && git commit -q -m x`, each command spawned as a user would run it,
 * after rewriting `f`. Git's defaults do not fsync loose objects, so git also runs with every
 * commit flushed (`core.fsync=all`, `core.fsyncMethod=batch`); Sluice fsyncs every commit.
 * Also, for scale, the Sluice CLI spawned per commit (`put file repo@master:/f -f f`), which is
 * what a shell script (or a spout 2.0) pays; it runs fewer times, as node start-up dominates it.
 *
 * Each side first makes WARMUP commits that are not counted. Commits/s is the count over the wall
 * time of the measured loop; latency is per commit (for git, both spawns).
 *
 * Sizes: COMMITS (default 1,000), CLI_COMMITS (default 100), WARMUP (default 20).
 * Goal: 500 commits/s, p99 under 20 ms.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '../src/client/index.js';
import { envInt, type Benchmark } from './lib/bench.js';
import { run } from './lib/exec.js';
import { GIT_FSYNC_ALL, gitEnv } from './lib/git.js';
import type { BenchDaemon } from './lib/daemon.js';
import { cliLabel } from './lib/paths.js';
import { table } from './lib/report.js';
import { fmt, fmtInt, fmtMB, msSince, summarize, type LatencySummary } from './lib/stats.js';

const REPO = 'bench';

/** About 100 bytes, different each time. */
function content(i: number): Buffer {
  return Buffer.from(`commit ${i} `.padEnd(99, '.') + '\n');
}

interface Series {
  what: string;
  wallMs: number;
  lat: LatencySummary;
  /** Daemon CPU per commit (Sluice only). */
  daemonCpuMs?: number;
}

async function loop(count: number, warmup: number, op: (i: number) => Promise<void>, daemon?: BenchDaemon): Promise<Omit<Series, 'what'>> {
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  const samples: number[] = [];
  const cpu0 = daemon?.cpuMs();
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await op(i);
    samples.push(msSince(t));
  }
  const wallMs = msSince(start);
  return { wallMs, lat: summarize(samples), ...(daemon !== undefined && cpu0 !== undefined ? { daemonCpuMs: (daemon.cpuMs() - cpu0) / count } : {}) };
}

export const commits1k: Benchmark = {
  name: 'commits-1k',
  heading: '3. commits-1k: 1,000 sequential one-file commits, against git commit',
  minFreeBytes: 1024 * 1024 * 1024,
  async run(ctx) {
    const n = envInt('COMMITS', 1000);
    const nCli = envInt('CLI_COMMITS', 100);
    const warmup = envInt('WARMUP', 20);
    const series: Series[] = [];

    const d = await ctx.startDaemon('commits');
    const client = new Client({ address: d.address });
    const cli = await ctx.cli(d);
    let total: number;
    try {
      await client.createRepo(REPO);
      ctx.log(`${fmtInt(n)} SDK commits`);
      const sdk = await loop(n, warmup, async (i) => {
        await client.putFile(REPO, 'master', '/f', content(i));
      }, d);
      series.push({ what: 'Sluice SDK `putFile(repo, "master", "/f", buf)`, one long-lived client', ...sdk });

      ctx.log(`${fmtInt(nCli)} CLI commits (one process each)`);
      const local = join(ctx.dir, 'f');
      const viaCli = await loop(nCli, Math.min(warmup, 5), async (i) => {
        await writeFile(local, content(100_000 + i));
        await cli.run(['put', 'file', `${REPO}@master:/f`, '-f', local]);
      }, d);
      series.push({ what: `Sluice CLI \`put file ${REPO}@master:/f -f f\`, one process per commit`, ...viaCli });
      total = (await client.listCommits(REPO, { branch: 'master' })).length;
    } finally {
      await client.close();
    }
    await ctx.stopDaemon(d);
    const expected = n + warmup + nCli + Math.min(warmup, 5);
    if (total !== expected) throw new Error(`master has ${total} commits, expected ${expected}`);

    const home = join(ctx.dir, 'home');
    await mkdir(home, { recursive: true });
    for (const [k, v] of [
      { label: 'git: `git add f && git commit -q -m x`, spawned per commit (defaults: loose objects not fsynced)', config: [] as string[] },
      { label: 'git: the same with `core.fsync=all`, `core.fsyncMethod=batch`', config: [...GIT_FSYNC_ALL] },
    ].entries()) {
      const work = join(ctx.dir, `git-${k}`);
      await mkdir(work, { recursive: true });
      const env = gitEnv(home);
      await run('git', ['init', '-q'], { env, cwd: work });
      ctx.log(`${fmtInt(n)} git commits (${k === 0 ? 'defaults' : 'fsync'})`);
      // Rewriting f (100 bytes) is inside the timed part, as it is for the CLI series; it costs microseconds.
      const g = await loop(n, warmup, async (i) => {
        await writeFile(join(work, 'f'), content(i));
        await run('git', [...v.config, 'add', 'f'], { env, cwd: work });
        await run('git', [...v.config, 'commit', '-q', '-m', 'x'], { env, cwd: work });
      });
      const count = Number((await run('git', ['rev-list', '--count', 'HEAD'], { env, cwd: work })).stdout.trim());
      if (count !== n + warmup) throw new Error(`git made ${count} commits, expected ${n + warmup}`);
      series.push({ what: v.label, ...g });
    }

    const markdown = [
      `Each series makes its commits one after another (${warmup} uncounted warm-up commits first). Latency in ms per commit; commits/s over the wall time of the measured loop. CLI: ${cliLabel()}.`,
      '',
      table(
        ['series', 'commits', 'commits/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'daemon CPU ms per commit'],
        series.map((s) => [
          s.what, fmtInt(s.lat.count), fmt(s.lat.count / (s.wallMs / 1000), 0),
          fmt(s.lat.p50, 2), fmt(s.lat.p90, 2), fmt(s.lat.p99, 2), fmt(s.lat.max, 1),
          s.daemonCpuMs === undefined ? '' : fmt(s.daemonCpuMs, 2),
        ]),
      ),
      '',
      `Checked: master holds ${fmtInt(total)} commits. Sluice SDK: **${fmt(series[0]!.lat.count / (series[0]!.wallMs / 1000), 0)} commits/s, p99 ${fmt(series[0]!.lat.p99, 1)} ms** (goal 500 commits/s, p99 under 20 ms). Daemon peak RSS ${fmtMB(d.peakRssBytes())}.`,
    ].join('\n');
    return { markdown, fullSize: n === 1000 };
  },
};
