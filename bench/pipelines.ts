/**
 * pipelines: the pipeline executor's three figures (issue 3), side by side with the limit of the
 * machine (spawning the same program in the same sandbox, bare).
 *
 * 1. Trigger latency: from an input commit's finish (the daemon's `finished` time) to the job's
 *    user code starting (the program writes `date +%s%N` into its output, on the same clock), and
 *    to the output commit's finish, for a one-file datum; TRIGGERS commits, one after another.
 * 2. Throughput: DATUMS one-file datums (one commit of DATUMS files, glob `/*`) through a
 *    transform that copies its input, with parallelism 1 and 2: datums/s, and the cost per datum
 *    beyond running the program itself (the bare sandboxed spawn, measured here, is the limit).
 *    The reference: the same no-op copy (`sh -c 'cp FILE out/'`, a shell and a `cp` per file, no
 *    sandbox) run over the same number of files by `xargs -P 1` and `xargs -P 2`.
 * 3. Re-run: one more file committed after the throughput run: how many datums are skipped and
 *    how long that job takes (goal: only the new datum runs).
 *
 * Sizes: TRIGGERS (default 200), DATUMS (default 10,000). Goal: p99 trigger-to-start under 100 ms.
 */
import { join } from 'node:path';
import { Client, type JobInfo } from '../src/client/index.js';
import { packageRoot } from '../src/lib/version.js';
import { BwrapDriver } from '../src/worker/index.js';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { envInt, type Benchmark } from './lib/bench.js';
import { run } from './lib/exec.js';
import { table } from './lib/report.js';
import { fmt, fmtInt, summarize } from './lib/stats.js';
import { generateTar } from './lib/tar-gen.js';

const COPY = join(packageRoot(), 'test', 'fixtures', 'pipelines', 'copy.sh');

async function waitJob(c: Client, pipeline: string, id: string): Promise<JobInfo> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      return await c.waitJob(pipeline, id);
    } catch (err) {
      // The job is made right after the commit event; poll until it exists.
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

export const pipelines: Benchmark = {
  name: 'pipelines',
  heading: '5. pipelines: trigger latency, datum throughput, incremental re-run',
  minFreeBytes: 1024 * 1024 * 1024,
  async run(ctx) {
    const triggers = envInt('TRIGGERS', 200);
    const datums = envInt('DATUMS', 10_000);
    const fullSize = triggers === 200 && datums === 10_000;
    const daemon = await ctx.startDaemon('pipelines');
    const c = new Client({ address: daemon.address });
    const out: string[] = [];
    try {
      // 1. Trigger latency.
      await c.createRepo('trig');
      await c.createPipeline(JSON.stringify({
        pipeline: { name: 'stamp' },
        input: { pfs: { repo: 'trig', glob: '/' } },
        transform: { cmd: ['sh', '-c', 'date +%s%N > /pfs/out/started'] },
      }));
      const toStart: number[] = [];
      const toFinish: number[] = [];
      for (let i = -5; i < triggers; i++) {
        const commit = (await c.putFile('trig', 'master', '/f', Buffer.from(String(i)))).commit;
        const job = await waitJob(c, 'stamp', commit.id);
        if (job.state !== 'success') throw new Error(`trigger job failed: ${job.reason}`);
        if (i < 0) continue; // warm-up
        const started = Number((await c.getFileBuffer('stamp', commit.id, '/started')).toString().trim()) / 1e6;
        const outCommit = await c.inspectCommit('stamp', commit.id);
        toStart.push(started - commit.finished!);
        toFinish.push(outCommit.finished! - commit.finished!);
      }
      const s = summarize(toStart);
      const f = summarize(toFinish);
      ctx.log(`trigger: start p50 ${fmt(s.p50)} p99 ${fmt(s.p99)} ms; finish p50 ${fmt(f.p50)} p99 ${fmt(f.p99)} ms`);
      out.push(`### Trigger latency (${fmtInt(triggers)} one-file commits, one after another)\n`);
      out.push(table(['from input commit finished to', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], [
        ['user code started', fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.max)],
        ['output commit finished', fmt(f.p50), fmt(f.p90), fmt(f.p99), fmt(f.max)],
      ], ['l', 'r', 'r', 'r', 'r']));
      out.push(`\nGoal: p99 to start under 100 ms: **${s.p99 < 100 ? 'met' : 'not met'}** (${fmt(s.p99)} ms). Pachyderm takes seconds; cron-polling systems 30-60 s.`);

      // The limit: the same program in the same sandbox, spawned bare, no daemon involved.
      const driver = new BwrapDriver();
      const scratch = await mkdtemp(join(ctx.dir, 'bare-'));
      await mkdir(join(scratch, 'in'), { recursive: true });
      await mkdir(join(scratch, 'out'), { recursive: true });
      const bare: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        const r = await driver.run({ cmd: ['sh', COPY], stdin: '', env: {}, pfsDir: scratch, onLine: () => undefined }, new AbortController().signal);
        if (r.exitCode !== 0) throw new Error(`bare spawn failed: ${r.stderrTail.join(' | ')}`);
        bare.push(performance.now() - t);
      }
      await rm(scratch, { recursive: true, force: true });
      const bareMs = summarize(bare).p50;

      // The reference: the same no-op copy, one shell and one cp per file, run by xargs -P.
      const xdir = await mkdtemp(join(ctx.dir, 'xargs-'));
      await mkdir(join(xdir, 'in'));
      await mkdir(join(xdir, 'out'));
      for (let i = 0; i < datums; i++) await writeFile(join(xdir, 'in', `f${String(i).padStart(6, '0')}`), `datum ${i}\n`);
      const xargsMs = new Map<number, number>();
      for (const p of [1, 2]) {
        const r = await run('sh', ['-c', `ls in | xargs -P ${p} -n 1 sh -c 'cp "in/$1" out/' _`], { cwd: xdir });
        xargsMs.set(p, r.ms);
        ctx.log(`xargs -P ${p}: ${fmt(datums / (r.ms / 1000))} files/s`);
      }
      await rm(xdir, { recursive: true, force: true });

      // 2. Throughput at parallelism 1 and 2.
      const rows: string[][] = [];
      let lastJob: JobInfo | undefined;
      for (const parallelism of [1, 2]) {
        const repo = `many${parallelism}`;
        await c.createRepo(repo);
        const tar = generateTar(0, datums, (i) => ({ name: `f${String(i).padStart(6, '0')}`, body: Buffer.from(`datum ${i}\n`) }));
        const commit = (await c.putTar(repo, 'master', '/', tar)).commit;
        const name = `copy${parallelism}`;
        const t0 = Date.now();
        await c.createPipeline(JSON.stringify({
          pipeline: { name },
          input: { pfs: { repo, glob: '/*' } },
          transform: { cmd: ['sh', COPY] },
          parallelism_spec: { constant: parallelism },
        }));
        const jobs = await c.listJobs({ pipeline: name });
        const job = await waitJob(c, name, jobs[0]?.id ?? commit.id);
        const wall = (job.finished ?? Date.now()) - (job.started ?? t0);
        if (job.state !== 'success') throw new Error(`throughput job failed: ${job.reason}`);
        const perDatum = wall / datums;
        ctx.log(`throughput p=${parallelism}: ${fmt(datums / (wall / 1000))} datums/s`);
        const xMs = xargsMs.get(parallelism) ?? Number.NaN;
        rows.push([String(parallelism), fmtInt(datums), fmt(wall / 1000, 2), fmt(datums / (wall / 1000)), fmt(datums / (xMs / 1000)), `${fmt(xMs / wall, 2)}x`, fmt(perDatum, 2), fmt(bareMs, 2), fmt(perDatum * parallelism - bareMs, 2)]);
        if (parallelism === 2) lastJob = job;
      }
      out.push(`\n### Throughput (${fmtInt(datums)} one-file datums, \`sh copy.sh\` under bubblewrap)\n`);
      out.push(table(['parallelism', 'datums', 'job s', 'datums/s', '`xargs -P` files/s', 'vs xargs', 'ms per datum', 'bare spawn ms (p50)', 'overhead ms per datum per worker'], rows));
      out.push('\n"Overhead" is what each datum costs a worker beyond spawning the program in its sandbox: claiming it, downloading its file, uploading its output and reporting. `xargs -P N` runs the same no-op copy (`sh -c \'cp FILE out/\'`, no sandbox) over as many files, N at a time. Goals: overhead under 3 ms; at least 0.5x xargs at parallelism 2.');

      // 3. Re-run after one unrelated change.
      const extra = (await c.putFile('many2', 'master', '/new-file', Buffer.from('new\n'))).commit;
      const rerun = await waitJob(c, 'copy2', extra.id);
      const rerunMs = (rerun.finished ?? 0) - (rerun.started ?? 0);
      out.push(`\n### Incremental re-run (one more file after the parallelism-2 run)\n`);
      out.push(table(['datums', 'processed', 'skipped', 'job ms', 'previous job s'], [[
        fmtInt(rerun.datums.total), fmtInt(rerun.datums.processed), fmtInt(rerun.datums.skipped), fmtInt(rerunMs),
        fmt(((lastJob?.finished ?? 0) - (lastJob?.started ?? 0)) / 1000, 2),
      ]]));
      out.push(`\nGoal: only the changed datum runs: **${rerun.datums.processed === 1 ? 'met' : 'not met'}**.`);
      return { markdown: out.join('\n'), fullSize };
    } finally {
      await c.close();
    }
  },
};
