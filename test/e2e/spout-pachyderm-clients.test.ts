/**
 * Spouts written against Pachyderm's own gRPC clients, run by the real worker under its sandbox:
 *
 * - always: a grpc-js spout (test/fixtures/spouts/grpc-put.mjs) that finds the daemon and its
 *   token only where Pachyderm's clients look (PACH_CONFIG → /pachctl/config.json, `grpc://`);
 *   its commits land on its own repo with provenance on its spec commit, and a write to another
 *   repo is refused;
 * - when SLUICE_PYTHON_PACHYDERM names a PYTHONPATH holding python-pachyderm 7.x (it is
 *   third-party code, not on the registries CI reaches; see docs/grpc.md): seed 002's consumer
 *   (examples/spout101, `python_pachyderm.Client()` with no arguments, `put_file_bytes`) runs as
 *   the spout and feeds the processor, and a python-pachyderm spout cannot write another repo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import type { Client, CommitInfo } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

const run = promisify(execFile);
const ROOT = packageRoot();
const FIX = join(ROOT, 'test', 'fixtures', 'spouts');
const PYTHON_PACHYDERM = process.env.SLUICE_PYTHON_PACHYDERM ?? '';
/** The interpreter whose grpcio and protobuf python-pachyderm runs on (Debian's, by default). */
const PYTHON = process.env.SLUICE_PYTHON ?? '/usr/bin/python3';
const NO_PYTHON_PACHYDERM = PYTHON_PACHYDERM === ''
  ? 'SLUICE_PYTHON_PACHYDERM is not set: set it to a PYTHONPATH holding python-pachyderm 7.x (with grpcio, protobuf, grpc_health) to run this test'
  : false;

async function commitsOf(c: Client, repo: string): Promise<CommitInfo[]> {
  return (await c.listCommits(repo, { branch: 'master' }).catch(() => [])).reverse();
}

async function fileText(c: Client, repo: string, path: string): Promise<string | undefined> {
  return (await c.getFileBuffer(repo, 'master', path).catch(() => undefined))?.toString();
}

describe('spouts on Pachyderm’s gRPC clients', () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(async () => t.stop());

  it('runs a grpc-js spout that finds the daemon and token like Pachyderm’s clients; its commits carry spec provenance and it cannot write another repo', { timeout: 60_000 }, async () => {
    const c = t.client;
    await c.createRepo('victim');
    await c.createPipeline(JSON.stringify({
      pipeline: { name: 'grpcspout' },
      spout: {},
      transform: {
        cmd: [process.execPath, join(FIX, 'grpc-put.mjs')],
        env: { VICTIM_REPO: 'victim', SLUICE_PROTO_LOADER: join(ROOT, 'dist', 'src', 'grpc', 'registry.js') },
      },
    }));
    const attempt = await eventually(async () => fileText(c, 'grpcspout', '/attempt'), 30_000, 'the spout’s /attempt file');
    assert.equal(attempt, 'refused PERMISSION_DENIED');
    assert.deepEqual(await commitsOf(c, 'victim'), [], 'nothing was written to the other repo');
    assert.equal(await fileText(c, 'grpcspout', '/one.txt'), 'one');
    assert.equal(await fileText(c, 'grpcspout', '/two.txt'), 'two');
    const spec = (await c.inspectPipeline('grpcspout')).specCommit;
    const commits = await commitsOf(c, 'grpcspout');
    assert.equal(commits.length, 2);
    for (const commit of commits) assert.deepEqual(commit.provenance, [spec], 'provenance on the spout’s spec commit, as put file gives');
    await c.deletePipeline('grpcspout');
  });

  it('runs seed 002’s python-pachyderm consumer unmodified as a spout feeding the processor (examples/spout101)', { skip: NO_PYTHON_PACHYDERM, timeout: 120_000 }, async () => {
    const c = t.client;
    await run('sh', [join(ROOT, 'examples', 'spout101', 'deploy.sh')], {
      env: {
        ...process.env, PACHD_ADDRESS: t.daemon.address, PACH_CONFIG: join(t.dataDir, 'no-config.json'),
        PYTHON_PACHYDERM, PYTHON, SPOUT_MIN_INTERVAL: '1', SPOUT_MAX_INTERVAL: '2', TMPDIR: t.dataDir,
      },
    });
    const spec = (await c.inspectPipeline('spout')).specCommit;
    const processorCreated = (await c.inspectPipeline('processor')).created;
    const later = await eventually(async () => {
      const all = await commitsOf(c, 'spout');
      const l = all.filter((x) => x.finished !== null && x.started > processorCreated + 500);
      return l.length >= 2 ? l : undefined;
    }, 60_000, 'two spout commits made after the processor exists');
    for (const commit of later) {
      assert.deepEqual(commit.provenance, [spec], 'provenance on the spout’s spec commit');
      const job = await eventually(async () => {
        const j = (await c.listJobs({ pipeline: 'processor' })).find((x) => x.id === commit.id);
        return j !== undefined && j.state === 'success' ? j : undefined;
      }, 60_000, `the processor's job for spout commit ${commit.id}`);
      const files = await c.listFile('spout', commit.id);
      assert.equal(job.datums.total, files.length);
      const small = (await c.getFileBuffer('processor', commit.id, '/1K.txt')).toString().split('\n').filter((l) => l !== '');
      const large = (await c.getFileBuffer('processor', commit.id, '/2K.txt')).toString().split('\n').filter((l) => l !== '');
      assert.equal(small.length + large.length, files.length, 'every message is logged by the processor');
      assert.ok(small.every((m) => m.length === 1024) && large.every((m) => m.length === 2048));
    }
    await c.deletePipeline('processor');
    await c.deletePipeline('spout');
  });

  it('confines a python-pachyderm spout to its own repo', { skip: NO_PYTHON_PACHYDERM, timeout: 60_000 }, async () => {
    const c = t.client;
    await c.createPipeline(JSON.stringify({
      pipeline: { name: 'pyintruder' },
      spout: {},
      transform: { cmd: [PYTHON, '-u', join(FIX, 'python-pachyderm-intruder.py')], env: { VICTIM_REPO: 'victim', PYTHONPATH: PYTHON_PACHYDERM } },
    }));
    const attempt = await eventually(async () => fileText(c, 'pyintruder', '/attempt'), 30_000, 'the spout’s /attempt file');
    assert.equal(attempt, 'refused PERMISSION_DENIED');
    assert.deepEqual(await commitsOf(c, 'victim'), []);
    await c.deletePipeline('pyintruder');
  });
});
