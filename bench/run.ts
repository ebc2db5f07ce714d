/**
 * `npm run bench` / `node dist/bench/run.js [name...]`: runs every benchmark, or the named ones,
 * one after another, each in a fresh temp folder that is removed afterwards. For each it prints
 * the tables and, for a full-size run, replaces its `results` block in BENCHMARKS.md (with the
 * machine and the date). With BENCH_PROFILE=1 (or a folder to keep the profiles in) the daemons
 * run under `node --cpu-prof` and the runner adds "where the time goes" tables (`profile` block).
 *
 * Environment: BENCH_TMP (work folder; default the OS temp dir), BENCH_RECORD=1 (write
 * BENCHMARKS.md even for shrunk sizes), BENCH_PROFILE; each benchmark documents its size knobs.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchContext, type Benchmark } from './lib/bench.js';
import { freeBytes, machineInfo, machineMarkdown } from './lib/machine.js';
import { profileMarkdown, summarizeProfile } from './lib/profile.js';
import { writeBlock } from './lib/report.js';
import { fmtBytes } from './lib/stats.js';
import { putGet1g } from './put-get-1g.js';
import { put100k } from './put-100k.js';
import { commits1k } from './commits-1k.js';
import { scale } from './scale.js';
import { pipelines } from './pipelines.js';
import { spoutsPipe } from './spouts-pipe.js';
import { spoutsPut } from './spouts-put.js';
import { s3PutGet } from './s3-put-get.js';
import { connectors } from './connectors.js';
import { grpcPut } from './grpc-put.js';

const ALL: readonly Benchmark[] = [putGet1g, put100k, commits1k, scale, pipelines, spoutsPipe, spoutsPut, connectors, s3PutGet, grpcPut];

async function findProfiles(root: string): Promise<Array<{ label: string; file: string }>> {
  const out: Array<{ label: string; file: string }> = [];
  for (const sub of (await readdir(root).catch(() => [] as string[])).sort()) {
    for (const f of await readdir(join(root, sub)).catch(() => [] as string[])) {
      if (f.endsWith('.cpuprofile')) out.push({ label: sub, file: join(root, sub, f) });
    }
  }
  return out;
}

async function runOne(b: Benchmark, workRoot: string): Promise<void> {
  const machine = machineInfo(workRoot);
  const free = freeBytes(workRoot);
  if (free < b.minFreeBytes) throw new Error(`${b.name} needs ${fmtBytes(b.minFreeBytes)} free in ${workRoot}, only ${fmtBytes(free)} left (set BENCH_TMP)`);
  const dir = await mkdtemp(join(workRoot, `sluice-bench-${b.name}-`));
  const keep = process.env.BENCH_PROFILE;
  const profiling = keep !== undefined && keep !== '' && keep !== '0';
  const profileDir = !profiling ? undefined : keep === '1' ? join(dir, 'profiles') : resolve(keep, b.name);
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const ctx = new BenchContext(dir, machine, profileDir);
  process.stderr.write(`\n== ${b.name}: ${b.heading} (work folder ${dir})\n`);
  try {
    const outcome = await b.run(ctx);
    await ctx.stopAll();
    const note = profiling ? '\n\nThis run was profiled (daemons under `node --cpu-prof`), which costs a few percent.' : '';
    const body = `${machineMarkdown(machine)}${note}\n\n${outcome.markdown}`;
    process.stdout.write(`\n## ${b.heading}\n\n${body}\n`);
    const record = outcome.fullSize || process.env.BENCH_RECORD === '1';
    if (record) await writeBlock(b.name, b.heading, 'results', body);
    else process.stderr.write('  (sizes shrunk by environment: BENCHMARKS.md left as it is; BENCH_RECORD=1 writes anyway)\n');
    if (profileDir !== undefined) {
      const parts: string[] = [`Profiled run of ${machine.date}, sizes ${outcome.fullSize ? 'full' : 'shrunk'}.`];
      for (const p of await findProfiles(profileDir)) parts.push(profileMarkdown(p.label, await summarizeProfile(p.file, 10)));
      const text = parts.join('\n\n');
      process.stdout.write(`\n### Profiles\n\n${text}\n`);
      if (record) await writeBlock(b.name, b.heading, 'profile', text);
    }
  } finally {
    await ctx.stopAll();
    if (process.env.BENCH_KEEP !== '1') await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !ALL.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const chosen = names.length === 0 ? ALL : ALL.filter((b) => names.includes(b.name));
  const workRoot = resolve(process.env.BENCH_TMP ?? tmpdir());
  await mkdir(workRoot, { recursive: true });
  for (const b of chosen) await runOne(b, workRoot);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
