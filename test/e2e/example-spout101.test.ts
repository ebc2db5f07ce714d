/**
 * examples/spout101 end to end, as its README runs it: `deploy.sh` (through the real CLI) creates
 * the spout (stdlib Python over the HTTP API, found through PACH_CONFIG) and the processor;
 * the spout's commits flow into the processor, one job per spout commit, and 1K.txt / 2K.txt hold
 * every message by size.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

  it('runs the spout and the processor from deploy.sh', { timeout: 120_000 }, async () => {
    const c = t.client;
    await run('sh', [join(packageRoot(), 'examples', 'spout101', 'deploy.sh')], {
      env: { ...process.env, PACHD_ADDRESS: t.daemon.address, PACH_CONFIG: join(t.dataDir, 'no-config.json'), SPOUT_MIN_INTERVAL: '0.05', SPOUT_MAX_INTERVAL: '0.2', TMPDIR: t.dataDir },
    });
    const names = (await c.listPipelines()).map((p) => p.name).sort();
    assert.deepEqual(names, ['processor', 'spout']);
    assert.equal((await c.inspectPipeline('spout')).input, 'none');
    // Three rounds of two messages each, each round one commit.
    const commits = await eventually(async () => {
      const cs = await c.listCommits('spout', { branch: 'master' }).catch(() => []);
      return cs.length >= 3 ? cs : undefined;
    }, 60_000, 'three spout commits');
    const third = commits[commits.length - 3]!;
    assert.equal((await c.listFile('spout', third.id)).length, 6, 'three rounds of a 1 KiB and a 2 KiB message');
    // The processor runs exactly one job per spout commit, and logs every message by size.
    const job = await eventually(async () => {
      const j = (await c.listJobs({ pipeline: 'processor' })).find((x) => x.id === third.id);
      return j !== undefined && j.state === 'success' ? j : undefined;
    }, 60_000, "the processor's job for the third spout commit");
    assert.equal(job.datums.total, 6);
    const small = (await c.getFileBuffer('processor', third.id, '/1K.txt')).toString().split('\n').filter((l) => l !== '');
    const large = (await c.getFileBuffer('processor', third.id, '/2K.txt')).toString().split('\n').filter((l) => l !== '');
    assert.equal(small.length, 3);
    assert.equal(large.length, 3);
    assert.ok(small.every((m) => m.length === 1024) && large.every((m) => m.length === 2048));
    const jobIds = new Set((await c.listJobs({ pipeline: 'processor' })).map((j) => j.id));
    // The first three spout commits (oldest last in the list) each had their job.
    for (const commit of commits.slice(-3)) assert.ok(jobIds.has(commit.id), `a job for spout commit ${commit.id}`);
    await c.deleteAll();
    assert.deepEqual(await c.listPipelines(), []);
  });
});
