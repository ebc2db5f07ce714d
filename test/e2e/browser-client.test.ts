/**
 * The SDK's browser entry (`BrowserClient`: the portable `ClientCore` over `fetch`) against a
 * real daemon, run here in Node (whose global fetch is the standard one), so CI checks the path
 * the web console takes even where no browser is installed: JSON calls, file bytes both ways,
 * the NDJSON commit stream, and errors rebuilt with their codes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BrowserClient, isSluiceError, type CommitInfo } from '../../src/client/index.js';
import { startTestDaemon, type TestDaemon } from './harness.js';

describe('BrowserClient over fetch', () => {
  let t: TestDaemon;
  let c: BrowserClient;
  before(async () => {
    t = await startTestDaemon();
    c = new BrowserClient({ baseUrl: `http://${t.daemon.address}/` });
  });
  after(async () => {
    await c.close();
    await t.stop();
  });

  it('makes repos, puts and reads file bytes', async () => {
    await c.createRepo('web');
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const r = await c.putFile('web', 'master', '/b.bin', bytes);
    assert.equal(r.finished, true);
    assert.deepEqual([...(await c.getFileBytes('web', 'master', '/b.bin'))], [...bytes]);
    assert.deepEqual((await c.listRepos()).map((x) => x.name), ['web']);
    assert.deepEqual((await c.listFile('web', 'master', '/')).map((f) => [f.path, f.sizeBytes]), [['/b.bin', 5]]);
  });

  it('streams commits as they finish', async () => {
    const [start] = await c.listCommits('web', { branch: 'master', limit: 1 });
    assert.ok(start !== undefined);
    const ac = new AbortController();
    const seen: CommitInfo[] = [];
    // Every commit after `start`, whenever the stream opens: no race with the puts below.
    const done = (async () => {
      for await (const cm of c.subscribeCommits('web', { branch: 'master', from: start.id, signal: ac.signal })) {
        seen.push(cm);
        if (seen.length === 2) ac.abort();
      }
    })();
    const a = await c.putFile('web', 'master', '/x.txt', 'one');
    const b = await c.putFile('web', 'master', '/x.txt', 'two');
    await done;
    assert.deepEqual(seen.map((x) => x.id), [a.commit.id, b.commit.id]);
  });

  it('rethrows the error code the daemon sent', async () => {
    await assert.rejects(c.inspectRepo('nope'), (err: unknown) => isSluiceError(err, 'PFS_REPO_NOT_FOUND'));
  });

  it('says which address it could not reach', async () => {
    const dead = new BrowserClient({ baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(dead.version(), (err: unknown) => isSluiceError(err, 'CLIENT_CONNECTION_FAILED') && /127\.0\.0\.1:1/.test(err.message));
  });
});
