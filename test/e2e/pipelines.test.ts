/**
 * Pipelines end to end: a real daemon with the local executor, real `sluice worker` processes,
 * and real shell and Python programs (test/fixtures/pipelines) running under bubblewrap with
 * /pfs/<input> and /pfs/out. Covers one pipeline, a chain, cross and union, cron, update with and
 * without --reprocess, stop/start, delete, a failing datum, an output symlink that escapes, and a
 * daemon restart in the middle of a job.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, startTestDaemon, tarOf, type TestDaemon } from './harness.js';
import { isSluiceError, type Client, type JobInfo } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'pipelines');
// Outside /tmp (where, until issue 13, user code saw only a private /tmp of its own).
const GATES = join(packageRoot(), '.sluice-test-gates');

function spec(name: string, input: unknown, cmd: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name }, input, transform: { cmd, image: 'python:3.11' }, ...extra });
}

async function jobsOf(c: Client, pipeline: string): Promise<JobInfo[]> {
  return c.listJobs({ pipeline });
}

/** Waits until the pipeline has `n` jobs and all of them have ended; returns them oldest first. */
async function settled(c: Client, pipeline: string, n: number, timeoutMs = 30_000): Promise<JobInfo[]> {
  return eventually(async () => {
    const jobs = await jobsOf(c, pipeline);
    if (jobs.length >= n && jobs.every((j) => ['success', 'failure', 'killed'].includes(j.state))) return jobs.reverse();
    return undefined;
  }, timeoutMs, `${n} ended jobs of ${pipeline}`);
}

async function text(c: Client, repo: string, path: string, ref = 'master'): Promise<string> {
  return (await c.getFileBuffer(repo, ref, path)).toString();
}

describe('pipelines', () => {
  let t: TestDaemon;
  let c: Client;
  before(async () => {
    await mkdir(GATES, { recursive: true });
    t = await startTestDaemon();
    c = t.client;
  });
  after(async () => {
    await t.stop();
    await rm(GATES, { recursive: true, force: true });
  });

  it('runs a job for a new input commit and writes the output repo', async () => {
    await c.createRepo('images');
    await c.putFile('images', 'master', '/a.txt', Buffer.from('hello'));
    const res = await c.createPipeline(spec('upper', { pfs: { repo: 'images', glob: '/*' } }, ['python3', join(FIX, 'upper.py')]), { file: 'upper.json' });
    assert.equal(res.pipelines[0]!.name, 'upper');
    assert.equal(res.pipelines[0]!.input, 'images:/*');
    // Creating runs a job over the current input.
    await settled(c, 'upper', 1);
    assert.equal(await text(c, 'upper', '/a.txt'), 'HELLO');
    const commit = (await c.putFile('images', 'master', '/b.txt', Buffer.from('world'))).commit;
    const job = await c.waitJob('upper', commit.id).catch(async () => {
      await eventually(async () => (await jobsOf(c, 'upper')).find((j) => j.id === commit.id), 10_000, 'the job');
      return c.waitJob('upper', commit.id);
    });
    assert.equal(job.state, 'success', job.reason);
    assert.equal(job.datums.total, 2);
    assert.equal(job.datums.skipped, 1, 'a.txt was processed before and is skipped');
    assert.equal(job.datums.processed, 1);
    assert.equal(await text(c, 'upper', '/b.txt'), 'WORLD');
    assert.equal(await text(c, 'upper', '/a.txt'), 'HELLO', 'the skipped datum output is reused');
    // The output commit shares the input commit's id and has provenance on it.
    const out = await c.inspectCommit('upper', commit.id);
    assert.ok(out.provenance.some((p) => p.repo === 'images' && p.id === commit.id));
    const set = await c.listCommitSet(commit.id);
    assert.deepEqual(set.map((s) => s.repo).sort(), ['images', 'upper']);
    // Logs carry the user code's lines with their datum.
    const lines: string[] = [];
    for await (const l of c.getLogs({ pipeline: 'upper', job: commit.id })) lines.push(l.message);
    assert.ok(lines.some((l) => l.includes('upper images/b.txt')), lines.join('\n'));
    const system: string[] = [];
    for await (const l of c.getLogs({ pipeline: 'upper' })) if (l.stream === 'system') system.push(l.message);
    assert.ok(system.some((l) => /on the host/.test(l)), 'the local executor says it runs the command on the host');
  });

  it('makes exactly one job per input commit, queued in order', async () => {
    await c.createRepo('burst');
    await c.createPipeline(spec('burst-copy', { pfs: { repo: 'burst', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.putFile('burst', 'master', `/f${i}`, Buffer.from(String(i)))).commit.id);
    const jobs = await settled(c, 'burst-copy', 5);
    assert.deepEqual(jobs.map((j) => j.id), ids);
    assert.ok(jobs.every((j) => j.state === 'success'));
    assert.equal((await c.listFile('burst-copy', 'master')).length, 5);
  });

  it('flows one commit through a chain of two pipelines', async () => {
    await c.createRepo('raw');
    await c.createPipeline(spec('stage1', { pfs: { repo: 'raw', glob: '/*' } }, ['python3', join(FIX, 'upper.py')]));
    await c.createPipeline(spec('stage2', { pfs: { repo: 'stage1', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    const commit = (await c.putFile('raw', 'master', '/x', Buffer.from('chain'))).commit;
    await eventually(async () => ((await jobsOf(c, 'stage2')).find((j) => j.id === commit.id && j.state === 'success') ? true : undefined), 30_000, 'stage2 job');
    assert.equal(await text(c, 'stage2', '/x'), 'CHAIN');
    const set = await c.listCommitSet(commit.id);
    assert.deepEqual(set.map((s) => s.repo).sort(), ['raw', 'stage1', 'stage2']);
  });

  it('crosses and unions inputs', async () => {
    await c.createRepo('left');
    await c.createRepo('right');
    await c.putTar('left', 'master', '/', await tarOf({ a: 'A', b: 'B' }));
    await c.putTar('right', 'master', '/', await tarOf({ x: 'X', y: 'Y', z: 'Z' }));
    await c.createPipeline(spec('pairs', { cross: [{ pfs: { repo: 'left', glob: '/*' } }, { pfs: { repo: 'right', glob: '/*' } }] }, ['sh', join(FIX, 'pair.sh')]));
    const [job] = await settled(c, 'pairs', 1);
    assert.equal(job!.state, 'success', job!.reason);
    assert.equal(job!.datums.total, 6);
    const names = (await c.listFile('pairs', 'master')).map((f) => f.path).sort();
    assert.deepEqual(names, ['/a-x', '/a-y', '/a-z', '/b-x', '/b-y', '/b-z']);
    assert.equal(await text(c, 'pairs', '/b-y'), 'B+Y\n');
    assert.equal((await c.inspectPipeline('pairs')).input, '(left:/* ⨯ right:/*)');

    await c.createPipeline(spec('both', { union: [{ pfs: { repo: 'left', glob: '/*', name: 'in' } }, { pfs: { repo: 'right', glob: '/*', name: 'in' } }] }, ['sh', join(FIX, 'copy.sh')])).catch((err: unknown) => {
      // Pachyderm requires distinct names except inside a union; both spellings are fine here.
      throw err;
    });
    const [u] = await settled(c, 'both', 1);
    assert.equal(u!.datums.total, 5);
    assert.deepEqual((await c.listFile('both', 'master')).map((f) => f.path).sort(), ['/a', '/b', '/x', '/y', '/z']);
  });

  it('fails a job on a failing datum with a reason naming the datum and stderr, and runs the next commit', async () => {
    await c.createRepo('in');
    await c.createPipeline(spec('picky', { pfs: { repo: 'in', glob: '/*' } }, ['sh', join(FIX, 'fail-on.sh')], { datum_tries: 2 }));
    const bad = (await c.putFile('in', 'master', '/one', Buffer.from('bad'))).commit;
    const failed = await eventually(async () => {
      const j = (await jobsOf(c, 'picky')).find((x) => x.id === bad.id);
      return j !== undefined && j.state === 'failure' ? j : undefined;
    }, 30_000, 'the failed job');
    assert.match(failed.reason, /datum [0-9a-f]+ failed.*after 2 attempts/s);
    assert.match(failed.reason, /refusing one: it is bad/);
    await assert.rejects(c.inspectCommit('picky', bad.id), (e: unknown) => isSluiceError(e, 'PFS_COMMIT_NOT_FOUND'));
    // The next commit still gets its own job (which fails too: /one is still bad; fix it first).
    const fix = (await c.putFile('in', 'master', '/one', Buffer.from('good'))).commit;
    const ok = await eventually(async () => {
      const j = (await jobsOf(c, 'picky')).find((x) => x.id === fix.id);
      return j !== undefined && j.state !== 'running' && j.state !== 'created' ? j : undefined;
    }, 30_000, 'the next job');
    assert.equal(ok.state, 'success', ok.reason);
    assert.equal(await text(c, 'picky', '/one'), 'good');
  });

  it('fails a datum whose output is a symlink out of /pfs/out', async () => {
    await c.createRepo('esc');
    await c.putFile('esc', 'master', '/f', Buffer.from('x'));
    await c.createPipeline(spec('escaper', { pfs: { repo: 'esc', glob: '/' } }, ['sh', join(FIX, 'escape.sh')], { datum_tries: 1 }));
    const [job] = await settled(c, 'escaper', 1);
    assert.equal(job!.state, 'failure');
    assert.match(job!.reason, /symlink/);
  });

  it('updates a pipeline with and without --reprocess', async () => {
    await c.createRepo('src');
    await c.putTar('src', 'master', '/', await tarOf({ a: 'a', b: 'b' }));
    await c.createPipeline(spec('up', { pfs: { repo: 'src', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    await settled(c, 'up', 1);
    const v2 = (await c.createPipeline(spec('up', { pfs: { repo: 'src', glob: '/*' } }, ['python3', join(FIX, 'upper.py')]), { update: true })).pipelines[0]!;
    assert.equal(v2.version, 2);
    const jobs = await settled(c, 'up', 2);
    assert.equal(jobs[1]!.pipelineVersion, 2);
    assert.equal(jobs[1]!.datums.skipped, 2, 'without --reprocess processed datums are kept');
    assert.equal(await text(c, 'up', '/a'), 'a');
    await c.createPipeline(spec('up', { pfs: { repo: 'src', glob: '/*' } }, ['python3', join(FIX, 'upper.py')]), { update: true, reprocess: true });
    const jobs3 = await settled(c, 'up', 3);
    assert.equal(jobs3[2]!.datums.processed, 2, 'with --reprocess every datum runs again');
    assert.equal(await text(c, 'up', '/a'), 'A');
    const history = await c.pipelineHistory('up');
    assert.deepEqual(history.map((h) => h.version), [3, 2, 1]);
    // Each version's spec is a commit in the spec repo.
    assert.notEqual(history[0]!.specCommit.id, history[1]!.specCommit.id);
  });

  it('stops and starts a pipeline: commits made while stopped are processed on start', async () => {
    await c.createRepo('ss');
    await c.createPipeline(spec('ss-copy', { pfs: { repo: 'ss', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    const stopped = await c.stopPipeline('ss-copy');
    assert.equal(stopped.state, 'paused');
    const commit = (await c.putFile('ss', 'master', '/later', Buffer.from('x'))).commit;
    const queued = await eventually(async () => (await jobsOf(c, 'ss-copy')).find((j) => j.id === commit.id), 10_000, 'queued job');
    assert.notEqual(queued.state, 'success');
    await c.startPipeline('ss-copy');
    const done = await c.waitJob('ss-copy', commit.id);
    assert.equal(done.state, 'success');
    assert.equal(await text(c, 'ss-copy', '/later'), 'x');
  });

  it('ticks a cron input into its repo and runs a job per tick', async () => {
    await c.createPipeline(spec('clock', { cron: { name: 'tick', spec: '@every 1s' } }, ['sh', join(FIX, 'ticks.sh')]));
    assert.equal((await c.inspectPipeline('clock')).input, 'tick:@every 1s');
    await eventually(async () => ((await jobsOf(c, 'clock')).filter((j) => j.state === 'success').length >= 2 ? true : undefined), 15_000, 'two cron jobs');
    const ticks = await c.listFile('clock_tick', 'master');
    assert.ok(ticks.length >= 2);
    assert.match(ticks[0]!.path, /^\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await c.deletePipeline('clock');
    await assert.rejects(c.inspectRepo('clock_tick'), (e: unknown) => isSluiceError(e, 'PFS_REPO_NOT_FOUND'));
  });

  it('deletes a pipeline with its output repo, or keeps the repo with --keep-repo', async () => {
    await c.createRepo('del');
    await c.createPipeline(spec('gone', { pfs: { repo: 'del', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    await c.createPipeline(spec('kept', { pfs: { repo: 'del', glob: '/*' } }, ['sh', join(FIX, 'copy.sh')]));
    await assert.rejects(c.deleteRepo('del'), (e: unknown) => isSluiceError(e, 'PFS_REPO_HAS_DEPENDENTS'));
    await c.deletePipeline('gone');
    await assert.rejects(c.inspectPipeline('gone'), (e: unknown) => isSluiceError(e, 'PPS_PIPELINE_NOT_FOUND'));
    await assert.rejects(c.inspectRepo('gone'), (e: unknown) => isSluiceError(e, 'PFS_REPO_NOT_FOUND'));
    await c.deletePipeline('kept', { keepRepo: true });
    assert.equal((await c.inspectRepo('kept')).name, 'kept');
    await c.deleteRepo('del');
  });

  it('refuses bad specs with a clear reason and creates nothing', async () => {
    const before = (await c.listRepos()).length;
    const cases: Array<[string, RegExp]> = [
      ['{"pipeline": {"name": "x"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "missing", "glob": "/*"}}}', /input repo missing not found/],
      ['{"pipeline": {"name": "bad name"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "images", "glob": "/*"}}}', /invalid pipeline name/],
      ['{"pipeline": {"name": "s"}, "transform": {"cmd": ["sh"]}, "spout": {}, "input": {"pfs": {"repo": "images", "glob": "/*"}}}', /spout pipelines \(without a service\) must not have an input/],
      ['{"pipeline": {"name": "d"}, "transform": {"cmd": ["sh"]}, "input": {"cross": [{"pfs": {"repo": "images", "glob": "/*"}}, {"pfs": {"repo": "images", "glob": "/*"}}]}}', /used more than once/],
      ['{"pipeline": {"name": "c"}, "transform": {"cmd": ["sh"]}, "input": {"cron": {"name": "t", "spec": "not a cron"}}}', /error parsing cron-spec/],
      ['{"pipeline": {"name": "m"}, "transform": {"cmd": ["sh"]} "input": {}}', /malformed pipeline spec: m\.json:1:\d+/],
    ];
    for (const [text, re] of cases) {
      await assert.rejects(c.createPipeline(text, { file: 'm.json' }), (e: unknown) => {
        assert.ok(isSluiceError(e));
        assert.match(e.message, re);
        return true;
      });
    }
    assert.equal((await c.listRepos()).length, before);
  });

  it('fails a datum whose program does not exist, naming it', async () => {
    await c.createRepo('nop');
    await c.putFile('nop', 'master', '/f', Buffer.from('x'));
    await c.createPipeline(spec('noprog', { pfs: { repo: 'nop', glob: '/' } }, ['/no/such/program'], { datum_tries: 1 }));
    const [job] = await settled(c, 'noprog', 1);
    assert.equal(job!.state, 'failure');
    assert.match(job!.reason, /\/no\/such\/program/);
  });

  it('runs the spout101 processor unchanged over a spout-like repo', async () => {
    await c.createRepo('spout');
    await c.createPipeline(spec('processor', { pfs: { repo: 'spout', glob: '/*' } }, ['python3', join(packageRoot(), 'examples', 'spout101', 'src', 'processor.py')]));
    const small = 'a'.repeat(1024);
    const big = 'b'.repeat(2048);
    await c.putFile('spout', 'master', '/m1.txt', Buffer.from(small));
    const last = (await c.putFile('spout', 'master', '/m2.txt', Buffer.from(big))).commit;
    await eventually(async () => ((await jobsOf(c, 'processor')).find((j) => j.id === last.id && j.state === 'success') ? true : undefined), 30_000, 'processor job');
    assert.equal(await text(c, 'processor', '/1K.txt'), small + '\n');
    assert.equal(await text(c, 'processor', '/2K.txt'), big + '\n');
  });
});

describe('pipelines across a daemon restart', () => {
  it('finishes a job that was running when the daemon stopped', async () => {
    await mkdir(GATES, { recursive: true });
    const gate = join(GATES, `gate-${process.pid}-${Date.now()}`);
    let t = await startTestDaemon(await (await import('./harness.js')).tempDir());
    const dir = t.dataDir;
    try {
      await t.client.createRepo('r');
      await t.client.createPipeline(spec('slow', { pfs: { repo: 'r', name: 'in', glob: '/*' } }, ['sh', join(FIX, 'slow-copy.sh')], { transform: { cmd: ['sh', join(FIX, 'slow-copy.sh')], env: { GATE: gate } } }));
      const commit = (await t.client.putFile('r', 'master', '/f', Buffer.from('survives'))).commit;
      // Wait until a worker runs the datum (the user code waits for the gate), then stop the daemon.
      await eventually(async () => ((await t.client.listDatums('slow', commit.id).catch(() => [])).some((d) => d.state === 'running') ? true : undefined), 20_000, 'a running datum');
      await t.stop();
      t = await startTestDaemon(dir);
      await writeFile(gate, '');
      const job = await t.client.waitJob('slow', commit.id);
      assert.equal(job.state, 'success', job.reason);
      assert.ok(job.restart >= 1 || job.datums.recovered >= 1, 'the job records that it was interrupted');
      assert.equal(await text(t.client, 'slow', '/f'), 'survives');
      const head = await t.client.inspectCommit('slow', 'master');
      assert.notEqual(head.finished, null, 'no commit is left open');
    } finally {
      await t.stop();
      await rm(dir, { recursive: true, force: true });
      await rm(gate, { force: true });
    }
  });
});
