/**
 * Progress on the terminal, end to end: the CLI binary against a real child daemon, once with
 * pipes (what scripts see: stdout and stderr exactly as without progress) and once on a
 * pseudo-terminal made by util-linux's `script` (a bar for `put file`, a spinner for `wait
 * commit` and `wait job`, erased before the result is printed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, eventually, runCli, startCliDaemon } from './harness.js';
import { Client } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

const PIPELINES = join(packageRoot(), 'test', 'fixtures', 'pipelines');

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs the CLI on a pseudo-terminal (`script -qfec`); resolves to everything the terminal showed. */
function runOnTty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; tty: string }> {
  const cmd = [process.execPath, CLI, ...args].map(shq).join(' ');
  return new Promise((resolveRun, reject) => {
    // -e: script exits with the command's code; -f: flush as it goes; stdin: nothing to type.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tty = '';
    child.stdout?.on('data', (d: Buffer) => (tty += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (tty += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolveRun({ code, tty }));
  });
}

describe('CLI progress', () => {
  let d: Awaited<ReturnType<typeof startCliDaemon>>;
  let many: string;
  before(async () => {
    d = await startCliDaemon('progress');
    many = join(d.work, 'many');
    await mkdir(many);
    for (let i = 0; i < 12; i++) await writeFile(join(many, `f${String(i).padStart(2, '0')}`), `file ${i}\n`);
    const r = await runCli(['create', 'repo', 'data'], d.env);
    assert.equal(r.code, 0, r.err);
  });
  after(async () => d.stop());

  it('prints nothing extra when stderr is not a terminal', async () => {
    const put = await runCli(['put', 'file', '-r', 'data@master:/piped', '-f', many], d.env);
    assert.equal(put.code, 0, put.err);
    assert.equal(put.out, '');
    assert.equal(put.err, '', 'no bar, no escape codes');
    const wait = await runCli(['wait', 'commit', 'data@master'], d.env);
    assert.equal(wait.code, 0, wait.err);
    assert.equal(wait.err, '');
    assert.match(wait.out, /^Commit: data@[0-9a-f]{32}\n/, 'the block starts the output, as before');
    assert.ok(!wait.out.includes('\x1b'), 'no escape codes on stdout');
  });

  it('draws a bar with bytes, files and rate for put file of many files on a terminal', async () => {
    const r = await runOnTty(['put', 'file', '-r', 'data@master:/tty', '-f', many], d.env);
    assert.equal(r.code, 0, r.tty);
    assert.match(r.tty, /put file \[=+\] 100% {2}\d+ B\/\d+ B {2}12\/12 files {2}\S+ \S*B\/s/);
    assert.match(r.tty, /\r\n$/, 'the final line is kept, with a newline');
    const c = new Client({ address: d.daemon.address });
    try {
      assert.equal((await c.listFile('data', 'master', '/tty')).length, 12);
    } finally {
      await c.close();
    }
  });

  it('draws no bar with --no-progress, nor for one small file', async () => {
    const off = await runOnTty(['put', 'file', '-r', '--no-progress', 'data@master:/quiet', '-f', many], d.env);
    assert.equal(off.code, 0, off.tty);
    assert.ok(!off.tty.includes('put file ['), off.tty);
    const small = await runOnTty(['put', 'file', 'data@master:/one', '-f', join(many, 'f00')], d.env);
    assert.equal(small.code, 0, small.tty);
    assert.equal(small.tty, '');
  });

  it('spins while wait commit waits, then erases the line before the commit block', async () => {
    const r = await runOnTty(['wait', 'commit', 'data@master'], d.env);
    assert.equal(r.code, 0, r.tty);
    assert.match(r.tty, /^\r\S waiting for commit data@master {2}\d+s\x1b\[K/);
    assert.match(r.tty, /\r\x1b\[KCommit: data@[0-9a-f]{32}\r\n/);
  });

  it('shows the job while wait job waits, and erases it before the job block', async () => {
    const spec = JSON.stringify({ pipeline: { name: 'slow' }, input: { pfs: { repo: 'data', glob: '/' } }, transform: { cmd: ['sh', join(PIPELINES, 'copy.sh')] } });
    await writeFile(join(d.work, 'slow.json'), spec);
    const created = await runCli(['create', 'pipeline', '-f', join(d.work, 'slow.json')], d.env);
    assert.equal(created.code, 0, created.err);
    const c = new Client({ address: d.daemon.address });
    let job: string;
    try {
      job = await eventually(async () => (await c.listJobs({ pipeline: 'slow' }))[0]?.id, 20_000, 'the job of slow');
    } finally {
      await c.close();
    }
    const r = await runOnTty(['wait', 'job', `slow@${job}`], d.env);
    assert.equal(r.code, 0, r.tty);
    assert.match(r.tty, new RegExp(`^\\r\\S waiting for job slow@${job}`));
    assert.match(r.tty, /\r\x1b\[KID: [0-9a-f]{32}\r\n/, 'the job block follows the erased line');
    const piped = await runCli(['wait', 'job', `slow@${job}`], d.env);
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.err, '');
  });
});
