/**
 * The datum runner against a real daemon (inputs read and outputs uploaded through the SDK) and
 * real user code under bubblewrap: the spout101 processor in Python, shell scripts in
 * Pachyderm's `cmd: ["sh"]` + `stdin` shape, and every way a datum fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { startTestDaemon, type TestDaemon } from '../../test/e2e/harness.js';
import { Upload, type Client, type DatumInput, type DatumTask, type TransformTask } from '../client/index.js';
import { packageRoot } from '../lib/version.js';
import { BwrapDriver } from './bwrap-driver.js';
import { probeDriver } from './detect-driver.js';
import { runDatum, type DatumRunnerDeps } from './datum-runner.js';
import type { ShippedLine } from './log-shipper.js';
import type { WorkerDatumResult } from './worker-client.js';

const PROCESSOR = join(packageRoot(), 'test', 'fixtures', 'worker', 'processor.py');

function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
}

function transform(over: Partial<TransformTask>): TransformTask {
  return { cmd: ['true'], stdin: [], env: {}, workingDir: '', acceptReturnCode: [], errCmd: [], errStdin: [], user: '', image: 'ubuntu:20.04', ...over };
}

let seq = 0;
function task(inputs: DatumInput[], t: Partial<TransformTask>, over: Partial<DatumTask> = {}): DatumTask {
  seq++;
  return {
    pipeline: 'proc',
    pipelineVersion: 1,
    job: `job${String(seq).padStart(29, '0')}`,
    datum: `datum${seq}`,
    inputs,
    transform: transform(t),
    attempt: 1,
    datumTries: 3,
    datumTimeoutMs: 0,
    ...over,
  };
}

describe('datum runner', () => {
  let t: TestDaemon;
  let c: Client;
  let scratch: string;
  let inputCommit: string;
  let skip: string | null = null;
  const logs: ShippedLine[] = [];
  let deps: DatumRunnerDeps;

  before(async () => {
    const probe = await probeDriver(new BwrapDriver());
    if (!probe.ok) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error(`bubblewrap cannot run here: ${probe.detail}`);
      skip = probe.detail;
    }
    t = await startTestDaemon();
    c = t.client;
    scratch = await mkdtemp(join(tmpdir(), 'sluice-runner-test-'));
    await c.createRepo('spout');
    await c.createRepo('out');
    const res = await c.putTar('spout', 'master', '/', await tarOf({
      'a.txt': Buffer.alloc(1024, 'a'),
      'b.txt': Buffer.alloc(2048, 'b'),
      'c.txt': 'odd size',
      'd.txt': Buffer.alloc(1024, 'd'),
      'nested/deep/x.txt': 'deep file\n',
    }));
    inputCommit = res.commit.id;
    deps = { client: c, driver: new BwrapDriver(), worker: 'proc-v1-0', logs: { push: (l) => logs.push({ ts: Date.now(), ...l }) }, scratchRoot: scratch };
  });

  after(async () => {
    await t.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const spoutRoot: DatumInput = { name: 'spout', repo: 'spout', commit: '', path: '/', type: 'dir' };
  const root = (): DatumInput => ({ ...spoutRoot, commit: inputCommit });

  /** Commits a successful datum's upload to `out@<branch>` and returns the file reader. */
  async function commitOutput(r: WorkerDatumResult, branch: string): Promise<(path: string) => Promise<string>> {
    assert.equal(r.success, true, r.reason);
    assert.ok(r.uploadId !== undefined);
    await new Upload(c, r.uploadId).commit('out', branch);
    return async (path) => (await c.getFileBuffer('out', branch, path)).toString('utf8');
  }

  it('runs the spout101 processor over a datum and uploads what it wrote to /pfs/out', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['python3', PROCESSOR] });
    const r = await runDatum(tk, deps, new AbortController().signal);
    const read = await commitOutput(r, 'processor');
    const oneK = (await read('/1K.txt')).trim().split('\n');
    const twoK = (await read('/2K.txt')).trim().split('\n');
    assert.deepEqual(oneK.map((l) => l.split(' ')[1]), ['/pfs/spout/a.txt', '/pfs/spout/d.txt']);
    assert.deepEqual(twoK.map((l) => l.split(' ')[1]), ['/pfs/spout/b.txt']);
    assert.ok(logs.some((l) => l.datum === tk.datum && l.stream === 'stdout' && l.message === 'Not matching size 8 /pfs/spout/c.txt'));
    assert.equal(r.bytesDownloaded, 1024 + 2048 + 8 + 1024 + 10);
    assert.equal(r.bytesUploaded, Buffer.byteLength(oneK.join('\n') + '\n') + Buffer.byteLength(twoK.join('\n') + '\n'));
  });

  it("puts a file input at /pfs/<name><path> and sets Pachyderm's variables", async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const input: DatumInput = { name: 'in', repo: 'spout', commit: inputCommit, path: '/nested/deep/x.txt', type: 'file' };
    const tk = task([input], {
      cmd: ['sh'],
      stdin: [
        'cp "$in" /pfs/out/copy.txt',
        'echo "$in|$in_COMMIT|$PACH_JOB_ID|$PACH_DATUM_ID|$PACH_OUTPUT_COMMIT_ID|$PPS_PIPELINE_NAME|$GREETING|$(pwd)" > /pfs/out/env.txt',
      ],
      env: { GREETING: 'hello there' },
      workingDir: '/pfs/in',
    });
    const read = await commitOutput(await runDatum(tk, deps, new AbortController().signal), 'env');
    assert.equal(await read('/copy.txt'), 'deep file\n');
    assert.equal(await read('/env.txt'), `/pfs/in/nested/deep/x.txt|${inputCommit}|${tk.job}|${tk.datum}|${tk.job}|proc|hello there|/pfs/in\n`);
  });

  it('uploads nested output folders and follows symlinks that stay inside /pfs', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], {
      cmd: ['sh'],
      stdin: [
        'mkdir -p /pfs/out/x/y && echo deep > /pfs/out/x/y/z.txt',
        'ln -s /pfs/spout/c.txt /pfs/out/passthrough.txt', // Pachyderm's idiom: link an input into the output
        'ln -s x /pfs/out/alias', // a folder link inside /pfs/out
        'mkdir /pfs/out/empty',
      ],
    });
    const r = await runDatum(tk, deps, new AbortController().signal);
    const read = await commitOutput(r, 'links');
    assert.equal(await read('/x/y/z.txt'), 'deep\n');
    assert.equal(await read('/alias/y/z.txt'), 'deep\n');
    assert.equal(await read('/passthrough.txt'), 'odd size');
    const names = (await c.listFile('out', 'links', '/')).map((f) => f.path).sort();
    assert.deepEqual(names, ['/alias/', '/passthrough.txt', '/x/'].sort());
  });

  it('fails a datum whose output is a symlink out of /pfs/out', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['sh'], stdin: ['echo fine > /pfs/out/ok.txt', 'ln -s /etc/passwd /pfs/out/leak'] });
    const r = await runDatum(tk, deps, new AbortController().signal);
    assert.equal(r.success, false);
    assert.equal(r.reason, `datum ${tk.datum} failed: output path /pfs/out/leak is a symlink to /etc/passwd, outside /pfs/out`);
    assert.equal(r.uploadId, undefined);
  });

  it('fails a datum whose output climbs out through a relative symlink or holds a FIFO', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const up = await runDatum(task([root()], { cmd: ['sh'], stdin: ['mkdir /pfs/out/d', 'ln -s ../../../etc /pfs/out/d/up'] }), deps, new AbortController().signal);
    assert.match(up.reason ?? '', /output path \/pfs\/out\/d\/up is a symlink to \.\.\/\.\.\/\.\.\/etc, outside \/pfs\/out$/);
    const fifo = await runDatum(task([root()], { cmd: ['mkfifo', '/pfs/out/pipe'] }), deps, new AbortController().signal);
    assert.match(fifo.reason ?? '', /output path \/pfs\/out\/pipe is a named pipe/);
    const loop = await runDatum(task([root()], { cmd: ['ln', '-s', '.', '/pfs/out/self'] }), deps, new AbortController().signal);
    assert.match(loop.reason ?? '', /output path \/pfs\/out\/self is a symlink to \., which loops/);
    const swapped = await runDatum(task([root()], { cmd: ['sh'], stdin: ['rmdir /pfs/out', 'ln -s /etc /pfs/out'] }), deps, new AbortController().signal);
    assert.match(swapped.reason ?? '', /\/pfs\/out was replaced by a symlink/);
  });

  it('fails with a clear reason when the user program does not exist', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['no-such-tool', 'arg'] });
    const r = await runDatum(tk, deps, new AbortController().signal);
    assert.equal(r.success, false);
    assert.equal(r.reason, `datum ${tk.datum} failed: user program "no-such-tool" not found`);
  });

  it('fails a datum with its exit code and the last lines of stderr', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['sh'], stdin: ['echo partial > /pfs/out/p.txt', 'echo "first problem" >&2', 'echo "Traceback: boom" >&2', 'exit 2'] });
    const r = await runDatum(tk, deps, new AbortController().signal);
    assert.equal(r.success, false);
    assert.equal(r.reason, `datum ${tk.datum} failed: user code exited with code 2; last lines of stderr:\nfirst problem\nTraceback: boom`);
    assert.equal(r.uploadId, undefined);
  });

  it('accepts a non-zero exit listed in accept_return_code', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['sh'], stdin: ['echo kept > /pfs/out/kept.txt', 'exit 3'], acceptReturnCode: [1, 3] });
    const read = await commitOutput(await runDatum(tk, deps, new AbortController().signal), 'accepted');
    assert.equal(await read('/kept.txt'), 'kept\n');
  });

  it('fails a datum that outlives datum_timeout', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const tk = task([root()], { cmd: ['sleep', '1000'] }, { datumTimeoutMs: 200 });
    const r = await runDatum(tk, deps, new AbortController().signal);
    assert.equal(r.success, false);
    assert.match(r.reason ?? '', /user code timed out after 200 ms \(datum_timeout\)/);
  });

  it('recovers a failed datum when err_cmd succeeds, and fails it when err_cmd fails too', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const ok = await runDatum(task([root()], { cmd: ['sh'], stdin: ['echo x > /pfs/out/x', 'exit 1'], errCmd: ['sh'], errStdin: ['test -e /pfs/spout/a.txt'] }), deps, new AbortController().signal);
    assert.equal(ok.success, true);
    assert.equal(ok.recovered, true);
    assert.match(ok.reason ?? '', /recovered by err_cmd after: user code exited with code 1/);
    const read = await commitOutput(ok, 'recovered');
    await assert.rejects(read('/x'), /not found/i);

    const bad = await runDatum(task([root()], { cmd: ['false'], errCmd: ['sh'], errStdin: ['exit 4'] }), deps, new AbortController().signal);
    assert.equal(bad.success, false);
    assert.match(bad.reason ?? '', /user code exited with code 1\n\(err_cmd exited with code 4\)$/);
  });

  it('fails a datum whose input cannot be read', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const r = await runDatum(task([{ ...root(), path: '/missing.txt', type: 'file' }], { cmd: ['true'] }), deps, new AbortController().signal);
    assert.equal(r.success, false);
    assert.match(r.reason ?? '', /cannot download its inputs: /);
  });

  it('kills user code and rejects when aborted', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    const ac = new AbortController();
    const abortingLogs = { push: (l: Omit<ShippedLine, 'ts'>): void => { if (l.message === 'running') ac.abort(new Error('worker stopping')); } };
    await assert.rejects(runDatum(task([root()], { cmd: ['sh'], stdin: ['echo running', 'sleep 1000'] }), { ...deps, logs: abortingLogs }, ac.signal), /worker stopping/);
  });

  it('leaves no scratch folder behind', async (ctx) => {
    if (skip !== null) return ctx.skip(skip);
    assert.deepEqual(await readdir(scratch), []);
  });
});
