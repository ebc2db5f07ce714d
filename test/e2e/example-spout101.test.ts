/**
 * examples/spout101 end to end, as Pachyderm's README runs it: `make deploy` (deploy.sh, through
 * the real CLI) creates
 * the spout (stdlib Python over the HTTP API, found through PACH_CONFIG) and the processor;
 * the spout's commits flow into the processor, one job per spout commit, and 1K.txt / 2K.txt hold
 * every message by size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { packageRoot } from '../../src/lib/version.js';

const run = promisify(execFile);

describe('examples/spout101', () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(async () => t.stop());

  it('runs the spout and the processor from `make deploy`', { timeout: 120_000 }, async () => {
    const c = t.client;
    const example = join(packageRoot(), 'examples', 'spout101');
    await run('make', ['deploy'], {
      cwd: example,
      env: { ...process.env, PACHD_ADDRESS: t.daemon.address, PACH_CONFIG: join(t.dataDir, 'no-config.json'), SPOUT_MIN_INTERVAL: '0.05', SPOUT_MAX_INTERVAL: '0.2', TMPDIR: t.dataDir },
    });
    const names = (await c.listPipelines()).map((p) => p.name).sort();
    assert.deepEqual(names, ['processor', 'spout']);
    // make's built-in rule for deploy.sh would have written a file named deploy instead.
    assert.equal(existsSync(join(example, 'deploy')), false);
    assert.equal((await c.inspectPipeline('spout')).input, 'none');
    // Each round of two messages is one commit. The spout starts before the processor exists,
    // so its first commits are covered by the processor's first job (over the head, as in
    // Pachyderm); every commit made after the processor was created gets a job of its own.
    const processorCreated = (await c.inspectPipeline('processor')).created;
    const after = await eventually(async () => {
      const all = (await c.listCommits('spout', { branch: 'master' }).catch(() => [])).reverse();
      // (half a second of margin: `created` is taken a few ms before the pipeline starts counting)
      const later = all.filter((x) => x.finished !== null && x.started > processorCreated + 500);
      return later.length >= 3 ? { all, later: later.slice(0, 3) } : undefined;
    }, 60_000, 'three spout commits after the processor was created');
    const third = after.later[2]!;
    const rounds = after.all.findIndex((x) => x.id === third.id) + 1;
    assert.equal((await c.listFile('spout', third.id)).length, 2 * rounds, 'each round adds a 1 KiB and a 2 KiB message');
    const job = await eventually(async () => {
      const j = (await c.listJobs({ pipeline: 'processor' })).find((x) => x.id === third.id);
      return j !== undefined && j.state === 'success' ? j : undefined;
    }, 60_000, "the processor's job for a spout commit");
    assert.equal(job.datums.total, 2 * rounds);
    const small = (await c.getFileBuffer('processor', third.id, '/1K.txt')).toString().split('\n').filter((l) => l !== '');
    const large = (await c.getFileBuffer('processor', third.id, '/2K.txt')).toString().split('\n').filter((l) => l !== '');
    assert.equal(small.length, rounds);
    assert.equal(large.length, rounds);
    assert.ok(small.every((m) => m.length === 1024) && large.every((m) => m.length === 2048));
    const jobIds = new Set((await c.listJobs({ pipeline: 'processor' })).map((j) => j.id));
    for (const commit of after.later) assert.ok(jobIds.has(commit.id), `a job for spout commit ${commit.id}`);
    await c.deleteAll();
    assert.deepEqual(await c.listPipelines(), []);
  });
});
