/**
 * Two daemons on one PostgreSQL schema and one shared object folder, as far as that is built:
 * concurrent commits to one branch through both daemons are serialised by the row lock on the
 * branch head, so none is lost (a linear history with every file at the head), and each daemon
 * reads what the other wrote. (Events, the controller leader and cache invalidation across
 * daemons are not built: no pipelines run here.)
 * Skipped when PostgreSQL is unreachable, unless REQUIRE_SERVICES=1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { dropPostgres, freshPostgres, startTestDaemon, tempDir, type TestDaemon } from './harness.js';

const url = await freshPostgres();

describe('two daemons on one PostgreSQL', { skip: url === undefined ? 'PostgreSQL is unreachable (set REQUIRE_SERVICES=1 to fail instead)' : false }, () => {
  let a: TestDaemon;
  let b: TestDaemon;
  let objects: string;
  before(async () => {
    objects = await tempDir('sluice-shared-objects-');
    a = await startTestDaemon(undefined, { metadata: url!, objects });
    b = await startTestDaemon(undefined, { metadata: url!, objects });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await rm(objects, { recursive: true, force: true });
    await dropPostgres(url!);
  });

  it('serialises concurrent commits to one branch through both daemons: none is lost', async () => {
    await a.client.createRepo('shared');
    const files = new Map<string, Buffer>();
    const puts: Array<Promise<unknown>> = [];
    for (let i = 0; i < 24; i++) {
      const data = randomBytes(1000 + i);
      files.set(`/f${i}`, data);
      puts.push((i % 2 === 0 ? a : b).client.putFile('shared', 'master', `/f${i}`, data));
    }
    await Promise.all(puts);
    const commits = await b.client.listCommits('shared', { branch: 'master' });
    assert.equal(commits.length, 24, 'every commit is on the branch');
    assert.deepEqual(commits.map((c) => c.depth).sort((x, y) => x - y), Array.from({ length: 24 }, (_, i) => i), 'one linear history');
    assert.equal(new Set(commits.map((c) => c.parent)).size, 24, 'each commit has its own parent');
    for (const d of [a, b]) {
      const listed = (await d.client.listFile('shared', 'master')).map((f) => f.path).sort();
      assert.deepEqual(listed, [...files.keys()].sort(), 'every file is at the head, seen from either daemon');
      for (const [path, data] of files) assert.ok((await d.client.getFileBuffer('shared', 'master', path)).equals(data), `${path} reads back`);
    }
    assert.deepEqual((await a.client.fsck()).errors, []);
  });
});
