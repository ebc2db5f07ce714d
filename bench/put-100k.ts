/**
 * put-100k: `put file -r` of 100,000 files of 1 KiB (random bytes, 1,000 per folder) in one
 * commit through the CLI, against `git add -A && git commit -q` of the same folder in a fresh
 * `git init` (as one shell command, so one spawn each). Git's defaults do not fsync loose objects,
 * so git is also shown followed by a system-wide `sync`, and with every write flushed in one
 * batch (`core.fsync=all`, `core.fsyncMethod=batch`), the durable equivalent of what the daemon
 * does. Afterwards both sides are checked: the commit holds N files (`glob file /data/**` through
 * the SDK) and git's HEAD tree lists N files.
 *
 * Size: PUT100K_FILES (default 100,000). Goal: faster than git; 20,000 files/s.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { Client } from '../src/client/index.js';
import { envInt, type Benchmark } from './lib/bench.js';
import { run } from './lib/exec.js';
import { GIT_FSYNC_ALL, gitEnv } from './lib/git.js';
import { duBytes, syncAll } from './lib/files.js';
import { cliLabel } from './lib/paths.js';
import { table } from './lib/report.js';
import { fmt, fmtBytes, fmtDuration, fmtMB, fmtInt, msSince } from './lib/stats.js';

const REPO = 'bench';
const PER_DIR = 1000;
const FILE_SIZE = 1024;

/** `data/d0000/f000000` ... ; written 256 at a time. */
async function writeTree(root: string, n: number): Promise<void> {
  for (let d = 0; d * PER_DIR < n; d++) await mkdir(join(root, `d${String(d).padStart(4, '0')}`), { recursive: true });
  const path = (i: number): string => join(root, `d${String(Math.floor(i / PER_DIR)).padStart(4, '0')}`, `f${String(i).padStart(6, '0')}`);
  for (let i = 0; i < n; i += 256) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 256); j++) batch.push(writeFile(path(j), randomBytes(FILE_SIZE)));
    await Promise.all(batch);
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return msSince(start);
}

export const put100k: Benchmark = {
  name: 'put-100k',
  heading: '2. put-100k: `put file -r` of 100,000 files of 1 KiB, against git',
  minFreeBytes: 3 * 1024 * 1024 * 1024,
  async run(ctx) {
    const n = envInt('PUT100K_FILES', 100_000);
    const data = join(ctx.dir, 'data');
    ctx.log(`writing ${fmtInt(n)} files of ${FILE_SIZE} bytes`);
    await writeTree(data, n);
    await syncAll();

    const rows: Array<{ what: string; ms: number }> = [];
    // Sluice, through the CLI.
    const d = await ctx.startDaemon('put');
    const cli = await ctx.cli(d);
    await cli.run(['create', 'repo', REPO]);
    ctx.log('sluice put file -r');
    const cpu0 = d.cpuMs();
    const putMs = await timed(() => cli.profiled(['put', 'file', '-r', `${REPO}@master`, '-f', data]));
    const daemonCpuMs = d.cpuMs() - cpu0;
    rows.push({ what: `Sluice: \`put file -r ${REPO}@master -f data\` (one commit, fsynced)`, ms: putMs });
    const client = new Client({ address: d.address });
    let found: number;
    let commits: number;
    try {
      const files = await client.globFile(REPO, 'master', `/${basename(data)}/**`);
      found = files.filter((f) => f.type === 'file').length;
      commits = (await client.listCommits(REPO, { branch: 'master' })).length;
    } finally {
      await client.close();
    }
    if (found !== n) throw new Error(`the commit holds ${found} files, expected ${n}`);
    if (commits !== 1) throw new Error(`put file -r made ${commits} commits, expected 1`);
    const store = await duBytes(d.dataDir);
    await ctx.stopDaemon(d);
    await syncAll();

    // git, three ways, each in a fresh repository over the same folder.
    const home = join(ctx.dir, 'home');
    await mkdir(home, { recursive: true });
    const variants: Array<{ label: string; config: string[]; thenSync: boolean }> = [
      { label: 'git: `git add -A && git commit -q` (defaults: loose objects not fsynced)', config: [], thenSync: false },
      { label: 'git: the same, then `sync`', config: [], thenSync: true },
      { label: 'git: with `core.fsync=all`, `core.fsyncMethod=batch`', config: [...GIT_FSYNC_ALL], thenSync: false },
    ];
    let gitFiles = 0;
    for (const [i, v] of variants.entries()) {
      const gitDir = join(ctx.dir, `git-${i}`);
      const env = gitEnv(home, { gitDir, workTree: data });
      await run('git', ['init', '-q'], { env, cwd: data });
      await syncAll();
      ctx.log(v.label);
      const cfg = v.config.join(' ');
      const ms = await timed(async () => {
        await run('sh', ['-c', `git ${cfg} add -A && git ${cfg} commit -q -m bench`], { env, cwd: data });
        if (v.thenSync) await syncAll();
      });
      rows.push({ what: v.label, ms });
      const { stdout } = await run('sh', ['-c', 'git ls-tree -r --name-only HEAD | wc -l'], { env, cwd: data });
      gitFiles = Number(stdout.trim());
      if (gitFiles !== n) throw new Error(`git's HEAD holds ${gitFiles} files, expected ${n}`);
    }

    const [gitPlain, gitSync, gitBatch] = [rows[1]!.ms, rows[2]!.ms, rows[3]!.ms];
    const speed = (ms: number): string => `${fmt(ms / putMs, 2)}x`;
    const markdown = [
      `${fmtInt(n)} files of ${FILE_SIZE} random bytes in ${Math.ceil(n / PER_DIR)} folders, in the page cache. Times from spawn to exit (Sluice CLI: ${cliLabel()}, node start-up included).`,
      '',
      table(
        ['operation', 'time', 'files/s', 'time / Sluice\'s time'],
        rows.map((r) => [r.what, fmtDuration(r.ms), fmtInt(n / (r.ms / 1000)), `${fmt(r.ms / putMs, 2)}x`]),
      ),
      '',
      `Checked: the Sluice commit holds ${fmtInt(found)} files (\`glob file /data/**\`) and is the only commit; each git HEAD holds ${fmtInt(gitFiles)} files. ` +
        `Sluice: **${fmtInt(n / (putMs / 1000))} files/s** (goal 20,000); its speed against git: ${speed(gitPlain)} (git defaults), ${speed(gitSync)} (git + sync), ${speed(gitBatch)} (git, batch fsync). ` +
        `The daemon used ${fmtDuration(daemonCpuMs)} of CPU during the put (${fmt((100 * daemonCpuMs) / putMs, 0)}% of one core over the command's wall time); peak RSS ${fmtMB(d.peakRssBytes())}; store on disk ${fmtBytes(store)}.`,
    ].join('\n');
    return { markdown, fullSize: n === 100_000 };
  },
};
