/**
 * The pipeline commands of the CLI end to end: a real daemon (`sluice daemon` as a child process
 * with the local executor, so `sluice worker` processes run real shell programs from
 * test/fixtures/pipelines), driven by running `node bin/sluice.js ...` with PACHD_ADDRESS. Checks
 * pachctl's tables and inspect blocks (`list pipeline`, `list job`, `list datum`), spec errors
 * with file:line:col, warnings on stderr, `logs` (and `-f` until SIGINT), `wait job`'s exit code,
 * stop/start, history, and `delete all`'s confirmation (on a terminal through `script`, when
 * util-linux has it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, eventually, startCliDaemon, runCli } from './harness.js';
import { packageRoot } from '../../src/lib/version.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'pipelines');
const JOB_TIMEOUT = 30_000;

interface RunResult {
  code: number | null;
  stderr: string;
  out: string;
}

interface RawJob {
  pipeline: string;
  id: string;
  state: string;
}

/** A pipeline spec as a user writes it (snake_case, as in Pachyderm's examples). */
function spec(name: string, input: unknown, cmd: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name }, input, transform: { cmd, image: 'alpine:3' }, ...extra }, null, 2) + '\n';
}

/** `script` from util-linux runs a command on a pseudo-terminal; without it the tty tests skip. */
const HAS_SCRIPT = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

describe('sluice pipeline commands against a real daemon', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;

  async function run(args: string[], opts: { input?: string } = {}): Promise<RunResult> {
    const r = await runCli(args, env, opts.input);
    return { code: r.code, stderr: r.err, out: r.out };
  }

  /** Runs and expects exit 0 with nothing on stderr. */
  async function ok(args: string[], opts: { input?: string } = {}): Promise<string> {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `sluice ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, '', `sluice ${args.join(' ')} wrote to stderr`);
    return r.out;
  }

  /** Runs and expects a failure with `error: <message>` on stderr and the given exit code. */
  async function fails(args: string[], code: number, message: RegExp, opts: { input?: string } = {}): Promise<RunResult> {
    const r = await run(args, opts);
    assert.equal(r.code, code, `sluice ${args.join(' ')}: expected exit ${code}, got ${r.code} (${r.stderr.trim()})`);
    assert.match(r.stderr, /^error: /, `stderr: ${r.stderr}`);
    assert.match(r.stderr, message);
    return r;
  }

  /** Runs a command line on a pseudo-terminal (util-linux `script`), feeding `input` to it. */
  function runOnTty(args: string[], input: string): Promise<RunResult> {
    const line = [process.execPath, CLI, ...args].map(shellQuote).join(' ');
    return new Promise((resolve, reject) => {
      const child = spawn('script', ['-qec', line, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stderr: err, out: out.replace(/\r\n/g, '\n') }));
      child.stdin.end(input);
    });
  }

  function lines(text: string): string[] {
    return text.split('\n').filter((l) => l !== '');
  }

  /** Lines with relative times blanked and spaces collapsed, to compare output taken moments apart. */
  function timeless(text: string): string[] {
    return lines(text).map((l) => l.replace(/(Less than a second|About a minute|\d+ \w+) ago/g, 'T ago').replace(/ +/g, ' '));
  }

  async function rawJobs(pipeline: string): Promise<RawJob[]> {
    return lines(await ok(['list', 'job', '-p', pipeline, '--raw'])).map((l) => JSON.parse(l) as RawJob);
  }

  /** Waits until the pipeline has `n` jobs that have all ended; returns them newest first. */
  async function endedJobs(pipeline: string, n: number): Promise<RawJob[]> {
    return eventually(async () => {
      const jobs = await rawJobs(pipeline);
      return jobs.length >= n && jobs.every((j) => ['success', 'failure', 'killed'].includes(j.state)) ? jobs : undefined;
    }, JOB_TIMEOUT, `${n} ended jobs of ${pipeline}`);
  }

  async function writeSpec(file: string, text: string): Promise<string> {
    const path = join(work, file);
    await writeFile(path, text);
    return path;
  }

  const copySpec = (description: string, extra: Record<string, unknown> = {}): string =>
    spec('copy', { pfs: { repo: 'images', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')], { description, ...extra });

  let stopDaemon: () => Promise<void>;
  before(async () => {
    ({ work, env, stop: stopDaemon } = await startCliDaemon('cli-pps'));
  });

  after(async () => stopDaemon());

  it('creates a pipeline from a spec file and runs one job for a new commit', async () => {
    await ok(['create', 'repo', 'images']);
    const file = await writeSpec('copy.json', copySpec('copies files'));
    await ok(['create', 'pipeline', '-f', file]);
    await ok(['put', 'file', 'images@master:/a.txt'], { input: 'hello\n' });
    await endedJobs('copy', 1);
    const table = lines(await ok(['list', 'job']));
    assert.match(table[0] ?? '', /^PIPELINE +ID +STARTED +DURATION +RESTART +PROGRESS +DL +UL +STATE$/);
    assert.equal(table.length, 2, table.join('\n'));
    assert.match(table[1] ?? '', /^copy +[0-9a-f]{32} +.+ ago +(Less than a second|\d+ seconds?) +0 +1 \+ 0 \/ 1 +6B +6B +success$/);
    assert.equal(await ok(['get', 'file', 'copy@master:/a.txt']), 'hello\n');
    assert.deepEqual(timeless(await ok(['list', 'job', '-p', 'copy'])), timeless(table.join('\n')));
  });

  it('lists the pipeline with its input, version and last job', async () => {
    const table = lines(await ok(['list', 'pipeline']));
    assert.match(table[0] ?? '', /^NAME +VERSION +INPUT +CREATED +STATE \/ LAST JOB +DESCRIPTION$/);
    assert.equal(table.length, 2, table.join('\n'));
    assert.match(table[1] ?? '', /^copy +1 +images:\/\* +.+ ago +running \/ success +copies files$/);
    assert.deepEqual(timeless(await ok(['list', 'pipeline', 'copy'])), timeless(table.join('\n')));
    const raw = lines(await ok(['list', 'pipeline', '--raw'])).map((l) => JSON.parse(l) as { name: string; input: string });
    assert.deepEqual(raw.map((p) => [p.name, p.input]), [['copy', 'images:/*']]);
  });

  it('inspects the pipeline as a key: value block', async () => {
    const out = await ok(['inspect', 'pipeline', 'copy']);
    assert.match(out, /^Name: copy\nDescription: copies files\nCreated: .+ ago\nState: running\nReason:\nWorkers Available: 1\/1\nStopped: false\nParallelism Spec: constant:1\nInput:\n/);
    const input = /\nInput:\n([\s\S]*?)\nOutput Branch: master\n/.exec(out);
    assert.ok(input?.[1] !== undefined, out);
    assert.deepEqual(JSON.parse(input[1]), { pfs: { name: 'images', repo: 'images', branch: 'master', glob: '/*' } });
    const transform = /\nTransform:\n([\s\S]*?)\nJob Counts:\n/.exec(out);
    assert.ok(transform?.[1] !== undefined, out);
    assert.deepEqual(JSON.parse(transform[1]), { image: 'alpine:3', cmd: ['sh', join(FIX, 'copy.sh')] });
    assert.match(out, /\nJob Counts:\ncreated: 0\tstarting: 0\trunning: 0\tfailure: 0\tsuccess: 1\tkilled: 0\tfinishing: 0\nSpec Commit: copy\.spec@[0-9a-f]{32}\nVersion: 1\n$/);
    const raw = JSON.parse(await ok(['inspect', 'pipeline', 'copy', '--raw'])) as { name: string; version: number; jobCounts: { success: number } };
    assert.equal(raw.name, 'copy');
    assert.equal(raw.version, 1);
    assert.equal(raw.jobCounts.success, 1);
  });

  it('prints the logs of a pipeline and of a job, one message per line', async () => {
    const [job] = await rawJobs('copy');
    assert.ok(job !== undefined);
    const out = lines(await ok(['logs', '--pipeline', 'copy']));
    assert.ok(out.some((l) => /local executor runs transform\.cmd/.test(l)), out.join('\n'));
    assert.deepEqual(lines(await ok(['logs', '-j', `copy@${job.id}`])), out, 'all of them come from the one job');
    const raw = lines(await ok(['logs', '-p', 'copy', '-j', job.id, '--raw'])).map((l) => JSON.parse(l) as { pipeline: string; job: string; message: string });
    assert.deepEqual(raw.map((l) => l.message), out);
    assert.ok(raw.every((l) => l.pipeline === 'copy' && l.job === job.id));
  });

  it('waits for a job, inspects it and lists its datums', async () => {
    const [job] = await rawJobs('copy');
    assert.ok(job !== undefined);
    const waited = await ok(['wait', 'job', `copy@${job.id}`]);
    assert.match(waited, new RegExp(`^ID: ${job.id}\nPipeline: copy\n`));
    assert.match(waited, /\nState: success\nReason:\nProgress: 1 \+ 0 \/ 1\nDatums: 1 total, 1 processed, 0 skipped, 0 failed, 0 recovered\n/);
    assert.match(waited, new RegExp(`\nOutput Commit: copy@${job.id}\n`));
    assert.deepEqual(timeless(await ok(['inspect', 'job', `copy@${job.id}`])), timeless(waited));
    assert.deepEqual(timeless(await ok(['inspect', 'job', job.id])), timeless(waited), 'a bare job id names the one job that has it');
    const datums = lines(await ok(['list', 'datum', `copy@${job.id}`]));
    assert.match(datums[0] ?? '', /^ID +FILES +STATUS +TIME$/);
    assert.equal(datums.length, 2, datums.join('\n'));
    assert.match(datums[1] ?? '', new RegExp(`^[0-9a-f]+ +images@${job.id}:/a\\.txt +success +-$`));
  });

  it('updates the pipeline, printing spec warnings, and keeps its history', async () => {
    // A top-level "env" belongs under "transform": accepted with a warning.
    const file = await writeSpec('copy-v2.json', copySpec('copies files, v2', { env: { MODE: 'v2' } }));
    const r = await run(['update', 'pipeline', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.out, '');
    assert.match(r.stderr, new RegExp(`^warning: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: field "env" belongs under "transform"; applied to transform.env\n$`));
    const history = lines(await ok(['list', 'pipeline', '--history', 'all']));
    assert.equal(history.length, 3, history.join('\n'));
    assert.match(history[1] ?? '', /^copy +2 +images:\/\* +.+ ago +\S+ \/ \S+ +copies files, v2$/);
    assert.match(history[2] ?? '', /^copy +1 +images:\/\* +.+ ago +\S+ \/ \S+ +copies files$/);
    assert.equal(lines(await ok(['list', 'pipeline', 'copy', '--history', '1'])).length, 3);
    assert.equal(lines(await ok(['list', 'pipeline'])).length, 2, 'without --history, the current version only');
    const specs = await ok(['list', 'pipeline', 'copy', '--spec']);
    const current = JSON.parse(specs) as { pipeline: { name: string }; description: string; transform: { env: Record<string, string> } };
    assert.equal(current.pipeline.name, 'copy');
    assert.equal(current.description, 'copies files, v2');
    assert.deepEqual(current.transform.env, { MODE: 'v2' });
    assert.match(await ok(['inspect', 'pipeline', 'copy']), /\nVersion: 2\n$/);
  });

  it('stops and starts the pipeline', async () => {
    await ok(['stop', 'pipeline', 'copy']);
    assert.match(lines(await ok(['list', 'pipeline']))[1] ?? '', /^copy +2 +images:\/\* +.+ ago +paused \/ success +/);
    assert.match(await ok(['inspect', 'pipeline', 'copy']), /\nState: paused\n[\s\S]*\nStopped: true\n/);
    // A commit made while stopped waits for the pipeline to start again.
    const earlier = (await endedJobs('copy', 1)).length;
    await ok(['put', 'file', 'images@master:/b.txt'], { input: 'bee\n' });
    await ok(['start', 'pipeline', 'copy']);
    await eventually(async () => (/^copy +2 +\S+ +.+ ago +running \/ /m.test(await ok(['list', 'pipeline'])) ? true : undefined), JOB_TIMEOUT, 'the pipeline running');
    const jobs = await endedJobs('copy', earlier + 1);
    assert.equal(jobs[0]?.state, 'success');
    assert.equal(await ok(['get', 'file', 'copy@master:/b.txt']), 'bee\n');
    assert.match(lines(await ok(['list', 'job', '-p', 'copy']))[1] ?? '', / 1 \+ 1 \/ 2 +\d+B +\d+B +success$/);
  });

  it('follows the logs with -f until SIGINT, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'logs', '-p', 'copy', '-f'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const notices = (): number => lines(out).filter((l) => /local executor runs/.test(l)).length;
    const earlier = await eventually(async () => (notices() >= 2 ? notices() : undefined), JOB_TIMEOUT, 'the earlier log lines');
    await ok(['put', 'file', 'images@master:/c.txt'], { input: 'sea\n' });
    await eventually(async () => (notices() > earlier ? true : undefined), JOB_TIMEOUT, 'the new job\'s log lines');
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
    assert.equal(err, '');
  });

  it('reports a failed job in list job and with wait job\'s exit code', async () => {
    await ok(['create', 'repo', 'checks']);
    await ok(['create', 'pipeline', '-f', await writeSpec('picky.json', spec('picky', { pfs: { repo: 'checks', name: 'in', glob: '/*' } }, ['sh', join(FIX, 'fail-on.sh')], { datum_tries: 1 }))]);
    await ok(['put', 'file', 'checks@master:/x.txt'], { input: 'bad' });
    const [job] = await endedJobs('picky', 1);
    assert.ok(job !== undefined);
    assert.equal(job.state, 'failure');
    const row = lines(await ok(['list', 'job', '-p', 'picky']))[1] ?? '';
    // pachctl shows the first 25 characters of the reason.
    assert.match(row, /^picky +[0-9a-f]{32} +.+ 0 \/ 1 +\d+B +\d+B +failure: .{1,25}\.\.\.$/);
    const r = await run(['wait', 'job', `picky@${job.id}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.out, /\nState: failure\nReason: .+\n/);
    assert.match(r.stderr, new RegExp(`^error: job picky@${job.id} failure: `));
    assert.ok(lines(await ok(['logs', '-p', 'picky'])).includes('refusing x.txt: it is bad'), 'user code\'s stderr is in the logs');
  });

  it('stops a running job, which wait job reports as killed', async () => {
    await ok(['create', 'repo', 'slowin']);
    const gate = join(work, 'gate-never-created');
    await ok(['create', 'pipeline', '-f', await writeSpec('slow.json', spec('slow', { pfs: { repo: 'slowin', name: 'in', glob: '/*' } }, ['sh', join(FIX, 'slow-copy.sh')], { transform: { cmd: ['sh', join(FIX, 'slow-copy.sh')], image: 'alpine:3', env: { GATE: gate } } }))]);
    await ok(['put', 'file', 'slowin@master:/x.txt'], { input: 'x' });
    const job = await eventually(async () => (await rawJobs('slow')).find((j) => j.state === 'running'), JOB_TIMEOUT, 'a running job');
    assert.match(lines(await ok(['list', 'job', '-p', 'slow']))[1] ?? '', /^slow +[0-9a-f]{32} +.+ ago +- +0 +0 \+ 0 \/ 1 +\d+B +\d+B +running$/);
    await ok(['stop', 'job', `slow@${job.id}`]);
    const r = await run(['wait', 'job', `slow@${job.id}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.out, /\nState: killed\n/);
    assert.match(r.stderr, /^error: job slow@[0-9a-f]{32} killed/);
    await ok(['delete', 'pipeline', 'slow']);
  });

  it('refuses a malformed spec with its file, line and column', async () => {
    const file = await writeSpec('broken.json', '{\n  "pipeline": {"name": "broken"}\n  "transform": {"cmd": ["true"]}\n}\n');
    const r = await fails(['create', 'pipeline', '-f', file], 2, /./);
    assert.equal(r.stderr.split('\n')[0], `error: malformed pipeline spec: ${file}:3:3: expected ',' or '}' after property value, found '"' (a missing comma?)`);
    assert.equal(r.out, '');
    // From stdin, the file is called "stdin".
    await fails(['create', 'pipeline'], 2, /^error: malformed pipeline spec: stdin:1:\d+: /, { input: '{"pipeline": ' });
    await fails(['create', 'pipeline', '-f', join(work, 'missing.json')], 2, /^error: cannot read .*missing\.json: /);
    assert.equal(lines(await ok(['list', 'pipeline'])).length, 3, 'nothing was created');
  });

  it('reports bad arguments as usage errors (exit 2)', async () => {
    await fails(['delete', 'pipeline'], 2, /either a pipeline name or the --all flag/);
    await fails(['inspect', 'job', 'copy'], 2, /expected <pipeline>@<job-id>/);
    await fails(['logs'], 2, /either --pipeline or --job/);
    await fails(['inspect', 'pipeline', 'nope'], 4, /pipeline nope not found/);
    const r = await run(['list', 'pipeline', '--history', 'lots']);
    assert.equal(r.code, 2);
  });

  it('deletes a pipeline and its output repo', async () => {
    await ok(['delete', 'pipeline', 'picky']);
    const names = lines(await ok(['list', 'pipeline'])).slice(1).map((l) => l.split(' ')[0]);
    assert.deepEqual(names, ['copy']);
    const repos = lines(await ok(['list', 'repo'])).slice(1).map((l) => l.split(' ')[0]);
    assert.ok(!repos.includes('picky'), repos.join(' '));
    assert.ok(repos.includes('checks'), 'the input repo stays');
  });

  it('asks before delete all on a terminal and reads stdin with a notice', { skip: HAS_SCRIPT ? false : 'util-linux script is not installed' }, async () => {
    const declined = await runOnTty(['delete', 'all'], 'n\n');
    assert.equal(declined.code, 0, declined.out);
    assert.match(declined.out, /Repos to delete: .*images/);
    assert.match(declined.out, /Pipelines to delete: copy/);
    assert.match(declined.out, /Are you sure you want to delete all repos, pipelines, commits, files and jobs\? \(y\/N\): /);
    assert.match(await ok(['list', 'repo']), /\nimages /, 'nothing was deleted');
    const created = await runOnTty(['create', 'pipeline'], spec('fromtty', { pfs: { repo: 'images', glob: '/' } }, ['sh', join(FIX, 'copy.sh')]).replace(/\n/g, ' ') + '\n');
    assert.equal(created.code, 0, created.out);
    assert.match(created.out, /Reading from stdin\./);
    await ok(['inspect', 'pipeline', 'fromtty']);
  });

  it('refuses delete all without a terminal unless forced, then deletes everything', async () => {
    await fails(['delete', 'all'], 2, /stdin is not a terminal; pass --force/);
    assert.match(await ok(['list', 'repo']), /\nimages /, 'nothing was deleted');
    await ok(['delete', 'all', '--force']);
    assert.deepEqual(lines(await ok(['list', 'pipeline'])), ['NAME VERSION INPUT CREATED STATE / LAST JOB DESCRIPTION']);
    assert.deepEqual(lines(await ok(['list', 'repo', '--all'])), ['NAME CREATED SIZE (MASTER) DESCRIPTION']);
    assert.deepEqual(lines(await ok(['list', 'job'])), ['PIPELINE ID STARTED DURATION RESTART PROGRESS DL UL STATE']);
  });
});
