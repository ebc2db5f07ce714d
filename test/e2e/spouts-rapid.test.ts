/**
 * Pachyderm's SpoutRapidOpenClose (issue #4327), end to end: a Python writer opens `/pfs/out`,
 * writes one archive holding one file `test<i>` and closes it, 1,000 times in a row. Every
 * archive must become its own commit, in order, none lost and none merged: commit i holds
 * exactly the files test0..test<i>. Also reports the rate (archives committed per second).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import type { CommitInfo } from '../../src/client/index.js';
import { packageRoot } from '../../src/lib/version.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'spouts');
const COUNT = 1000;

describe('spouts: rapid open/close', { timeout: 300_000 }, () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(async () => {
    await t.stop();
  });

  it('makes one commit per open of the pipe, 1,000 times, none lost or merged', async (ctx) => {
    const c = t.client;
    const started = Date.now();
    await c.createPipeline(JSON.stringify({ pipeline: { name: 'rapid' }, transform: { cmd: ['python3', join(FIX, 'rapid.py')], env: { COUNT: String(COUNT) } }, spout: {} }));
    const head = await eventually(async () => {
      const h = await c.inspectCommit('rapid', 'master').catch(() => undefined);
      return h !== undefined && h.depth >= COUNT - 1 ? h : undefined;
    }, 240_000, `${COUNT} commits`);
    const seconds = (Date.now() - started) / 1000;
    ctx.diagnostic(`${COUNT} archives committed in ${seconds.toFixed(1)} s (${(COUNT / seconds).toFixed(0)} archives/s, spout start-up included)`);
    assert.equal(head.depth, COUNT - 1, 'no more commits than archives');
    const commits: CommitInfo[] = (await c.listCommits('rapid', { branch: 'master' })).reverse();
    assert.equal(commits.length, COUNT);
    // Commit i adds exactly test<i>: the diff against its parent is that one file.
    for (const [i, commit] of commits.entries()) {
      assert.notEqual(commit.finished, null);
      const diff = await c.diffFile('rapid', commit.id);
      assert.deepEqual(diff.map((d) => d.path), [`/test${i}`], `commit ${i}`);
    }
    const files = await c.listFile('rapid', 'master', '/');
    assert.equal(files.length, COUNT);
    assert.equal((await c.getFileBuffer('rapid', 'master', '/test999')).toString(), 'message 999\n');
    const lines: string[] = [];
    for await (const l of c.getLogs({ pipeline: 'rapid' })) lines.push(l.message);
    assert.ok(lines.includes(`wrote ${COUNT} archives`), 'the writer never saw a broken pipe');
    assert.ok(!lines.some((l) => /refused|restarting/.test(l)), lines.filter((l) => /refused|restarting/.test(l)).join('\n'));
  });
});
