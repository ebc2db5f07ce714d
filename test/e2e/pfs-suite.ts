/**
 * The versioned file store end to end through the SDK against a real daemon: repos, branches,
 * commits, files, addressing, and every kind of bad input the foundation issue lists (each
 * refused with a stable code, nothing written, the daemon still serving).
 *
 * It is the metadata stores' conformance suite: pfs-sdk.test.ts runs it on SQLite,
 * pfs-postgres.test.ts on PostgreSQL, and the file store must behave the same on both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { tarOf, type TestDaemon } from './harness.js';
import { isSluiceError, type Client, type ErrorCode } from '../../src/client/index.js';

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isSluiceError(err), `expected a SluiceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}


export function pfsSuite(label: string, start: () => Promise<TestDaemon>): void {
describe(`versioned file store through the SDK (${label})`, () => {
  let t: TestDaemon;
  let c: Client;
  before(async () => {
    t = await start();
    c = t.client;
  });
  after(async () => t?.stop());

  it('creates, lists, inspects and deletes repos', async () => {
    const r = await c.createRepo('images', { description: 'pictures' });
    assert.equal(r.name, 'images');
    assert.equal(r.description, 'pictures');
    assert.deepEqual(r.branches, ['master']);
    assert.ok((await c.listRepos()).some((x) => x.name === 'images'));
    await rejectsWith(c.createRepo('images'), 'PFS_REPO_EXISTS');
    await c.createRepo('images', { description: 'photos', update: true });
    assert.equal((await c.inspectRepo('images')).description, 'photos');
    await c.deleteRepo('images');
    await rejectsWith(c.inspectRepo('images'), 'PFS_REPO_NOT_FOUND');
  });

  it('makes one commit per put on a finished branch and reads the file back', async () => {
    await c.createRepo('one');
    const res = await c.putFile('one', 'master', '/a.txt', Buffer.from('hello'));
    assert.equal(res.finished, true);
    assert.match(res.commit.id, /^[0-9a-f]{32}$/);
    assert.equal((await c.getFileBuffer('one', 'master', '/a.txt')).toString(), 'hello');
    const res2 = await c.putFile('one', 'master', 'b.txt', Buffer.from('world'));
    assert.equal(res2.commit.parent, res.commit.id);
    const commits = await c.listCommits('one', { branch: 'master' });
    assert.deepEqual(commits.map((x) => x.id), [res2.commit.id, res.commit.id]);
    assert.equal(commits[0]!.sizeBytes, 10);
    const files = await c.listFile('one', 'master', '/');
    assert.deepEqual(files.map((f) => [f.path, f.type, f.sizeBytes]), [['/a.txt', 'file', 5], ['/b.txt', 'file', 5]]);
  });

  it('overwrites by default and appends with append, storing only the new chunks', async () => {
    await c.createRepo('app');
    await c.putFile('app', 'master', '/log', Buffer.from('one\n'));
    await c.putFile('app', 'master', '/log', Buffer.from('two\n'), { append: true });
    assert.equal((await c.getFileBuffer('app', 'master', '/log')).toString(), 'one\ntwo\n');
    const info = await c.inspectFile('app', 'master', '/log');
    assert.equal(info.chunks?.length, 2);
    await c.putFile('app', 'master', '/log', Buffer.from('three\n'));
    assert.equal((await c.getFileBuffer('app', 'master', '/log')).toString(), 'three\n');
    assert.equal((await c.getFileBuffer('app', 'master^', '/log')).toString(), 'one\ntwo\n');
  });

  it('round-trips a multi-chunk file byte for byte and deduplicates identical content', async () => {
    await c.createRepo('big');
    const data = randomBytes(9 * 1024 * 1024 + 123);
    await c.putFile('big', 'master', '/blob', data);
    const back = await c.getFileBuffer('big', 'master', '/blob');
    assert.equal(Buffer.compare(back, data), 0);
    const info = await c.inspectFile('big', 'master', '/blob');
    assert.ok((info.chunks?.length ?? 0) > 1, 'a 9 MiB file is split into several chunks');
    await c.putFile('big', 'master', '/copy', data);
    const copy = await c.inspectFile('big', 'master', '/copy');
    assert.deepEqual(copy.chunks, info.chunks);
  });

  it('groups several uploads into one open commit between start and finish', async () => {
    await c.createRepo('grp');
    const started = await c.startCommit('grp', 'master');
    assert.equal(started.finished, null);
    await c.putFile('grp', 'master', '/x', Buffer.from('x'));
    await c.putFile('grp', started.id, '/y', Buffer.from('yy'));
    const open = await c.inspectCommit('grp', 'master');
    assert.equal(open.id, started.id);
    assert.equal(open.finished, null);
    assert.equal(open.sizeBytes, 3);
    // an open commit is readable as it stands
    assert.equal((await c.getFileBuffer('grp', 'master', '/y')).toString(), 'yy');
    await rejectsWith(c.startCommit('grp', 'master'), 'PFS_COMMIT_NOT_FINISHED');
    const done = await c.finishCommit('grp', 'master', { description: 'two files' });
    assert.notEqual(done.finished, null);
    assert.equal(done.description, 'two files');
    assert.equal((await c.listCommits('grp', { branch: 'master' })).length, 1);
    await rejectsWith(c.finishCommit('grp', started.id), 'PFS_COMMIT_FINISHED');
  });

  it('commits every file of an upload atomically, and nothing when it is aborted', async () => {
    await c.createRepo('atomic');
    const up = await c.createUpload();
    await up.putFile('/a', Buffer.from('a'));
    await up.putTar('/dir', await tarOf({ 'b.txt': 'b', 'sub/c.txt': 'c' }));
    await rejectsWith(c.listFile('atomic', 'master'), 'PFS_COMMIT_NOT_FOUND');
    const res = await up.commit('atomic', 'master');
    assert.equal(res.finished, true);
    const paths = (await c.globFile('atomic', 'master', '/**')).filter((f) => f.type === 'file').map((f) => f.path);
    assert.deepEqual(paths.sort(), ['/a', '/dir/b.txt', '/dir/sub/c.txt']);
    const up2 = await c.createUpload();
    await up2.putFile('/never', Buffer.from('x'));
    await up2.abort();
    await rejectsWith(up2.commit('atomic', 'master'), 'PFS_UPLOAD_NOT_FOUND');
    assert.equal((await c.listCommits('atomic')).length, 1);
  });

  it('lists directories with sizes, globs, diffs, deletes and copies', async () => {
    await c.createRepo('tree');
    await c.putTar('tree', 'master', '/', await tarOf({ 'a/1.txt': '1', 'a/2.txt': '22', 'a/b/3.txt': '333', 'z.txt': 'zzzz' }));
    const root = await c.listFile('tree', 'master', '/');
    assert.deepEqual(root.map((f) => [f.path, f.type, f.sizeBytes]), [['/a/', 'dir', 6], ['/z.txt', 'file', 4]]);
    const a = await c.listFile('tree', 'master', '/a');
    assert.deepEqual(a.map((f) => f.path), ['/a/1.txt', '/a/2.txt', '/a/b/']);
    assert.deepEqual((await c.globFile('tree', 'master', '/a/*.txt')).map((f) => f.path), ['/a/1.txt', '/a/2.txt']);
    assert.deepEqual((await c.globFile('tree', 'master', '/*')).map((f) => f.path), ['/a/', '/z.txt']);
    const up = await c.createUpload();
    await up.deleteFile('/a/b');
    await up.copyFile({ repo: 'tree', ref: 'master', path: '/a' }, '/copy');
    await up.commit('tree', 'master');
    const diff = await c.diffFile('tree', 'master');
    assert.deepEqual(diff.map((d) => [d.path, d.change]), [['/a/b/3.txt', 'deleted'], ['/copy/1.txt', 'added'], ['/copy/2.txt', 'added'], ['/copy/b/3.txt', 'added']]);
    assert.equal((await c.getFileBuffer('tree', 'master', '/copy/b/3.txt')).toString(), '333');
    await rejectsWith(c.getFileBuffer('tree', 'master', '/a/b/3.txt'), 'PFS_FILE_NOT_FOUND');
    assert.equal((await c.inspectCommit('tree', 'master')).sizeBytes, 4 + 3 + 6);
  });

  it('resolves ancestry with ^, ~N and .N and commit ids', async () => {
    await c.createRepo('anc');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await c.putFile('anc', 'master', '/n', Buffer.from(String(i)))).commit.id);
    assert.equal((await c.inspectCommit('anc', 'master^')).id, ids[3]);
    assert.equal((await c.inspectCommit('anc', 'master^^')).id, ids[2]);
    assert.equal((await c.inspectCommit('anc', 'master~4')).id, ids[0]);
    assert.equal((await c.inspectCommit('anc', 'master.1')).id, ids[1]);
    assert.equal((await c.inspectCommit('anc', `${ids[4]!}^`)).id, ids[3]);
    assert.equal((await c.getFileBuffer('anc', 'master.2', '/n')).toString(), '2');
    assert.equal((await c.listCommits('anc', { branch: 'master', limit: 2 })).length, 2);
    assert.deepEqual((await c.listCommits('anc', { branch: 'master', from: ids[2]! })).map((x) => x.id), [ids[4], ids[3]]);
    await rejectsWith(c.inspectCommit('anc', 'master~9'), 'PFS_COMMIT_NOT_FOUND');
  });

  it('creates branches at a head, lists them, and refuses to delete one others depend on', async () => {
    await c.createRepo('br');
    const first = (await c.putFile('br', 'master', '/f', Buffer.from('1'))).commit;
    await c.putFile('br', 'master', '/f', Buffer.from('2'));
    const dev = await c.createBranch('br', 'dev', { head: 'master^' });
    assert.equal(dev.head, first.id);
    assert.equal((await c.getFileBuffer('br', 'dev', '/f')).toString(), '1');
    await c.createRepo('down');
    await c.createBranch('down', 'master', { provenance: [{ repo: 'br', branch: 'dev' }] });
    // The same branch named twice (a pipeline crossing a repo with itself) is one edge, not an error.
    const twice = await c.createBranch('down', 'master', { provenance: [{ repo: 'br', branch: 'dev' }, { repo: 'br', branch: 'dev' }] });
    assert.deepEqual(twice.provenance, [{ repo: 'br', branch: 'dev' }]);
    await rejectsWith(c.deleteBranch('br', 'dev'), 'PFS_BRANCH_HAS_DEPENDENTS');
    await rejectsWith(c.deleteRepo('br'), 'PFS_REPO_HAS_DEPENDENTS');
    assert.deepEqual((await c.listBranches('br')).map((b) => b.name).sort(), ['dev', 'master']);
    await c.deleteBranch('down', 'master');
    await c.deleteBranch('br', 'dev');
    await rejectsWith(c.inspectBranch('br', 'dev'), 'PFS_BRANCH_NOT_FOUND');
  });

  it('deletes a head commit and squashes a commit into its child', async () => {
    await c.createRepo('sq');
    const a = (await c.putFile('sq', 'master', '/a', Buffer.from('a'))).commit;
    const b = (await c.putFile('sq', 'master', '/b', Buffer.from('b'))).commit;
    const d = (await c.putFile('sq', 'master', '/c', Buffer.from('c'))).commit;
    await rejectsWith(c.deleteCommit('sq', b.id), 'PFS_COMMIT_NOT_HEAD');
    await c.deleteCommit('sq', 'master');
    assert.equal((await c.inspectBranch('sq', 'master')).head, b.id);
    await rejectsWith(c.inspectCommit('sq', d.id), 'PFS_COMMIT_NOT_FOUND');
    await c.squashCommit('sq', a.id);
    const b2 = await c.inspectCommit('sq', 'master');
    assert.equal(b2.parent, null);
    assert.equal(b2.depth, 0);
    assert.equal((await c.getFileBuffer('sq', 'master', '/a')).toString(), 'a');
  });

  it('waits for a commit and streams finished commits to subscribers', async () => {
    await c.createRepo('sub');
    const open = await c.startCommit('sub', 'master');
    const waited = c.waitCommit('sub', open.id);
    const ac = new AbortController();
    const seen: string[] = [];
    const subscriber = (async () => {
      for await (const ci of c.subscribeCommits('sub', { branch: 'master', signal: ac.signal })) {
        seen.push(ci.id);
        if (seen.length === 2) ac.abort();
      }
    })();
    await c.finishCommit('sub', open.id);
    assert.equal((await waited).id, open.id);
    const second = (await c.putFile('sub', 'master', '/f', Buffer.from('x'))).commit;
    await subscriber;
    assert.deepEqual(seen, [open.id, second.id]);
  });

  it('shares one id across repos in a commit set', async () => {
    await c.createRepo('set');
    const ci = (await c.putFile('set', 'master', '/f', Buffer.from('x'))).commit;
    const set = await c.listCommitSet(ci.id);
    assert.deepEqual(set.map((x) => `${x.repo}@${x.id}`), [`set@${ci.id}`]);
  });

  it('verifies every finished commit with fsck', async () => {
    const report = await c.fsck();
    assert.deepEqual(report.errors, []);
    assert.ok(report.commitsChecked > 10);
    assert.ok(report.chunksChecked > 0);
  });

  describe('bad input is refused whole and the daemon keeps serving', () => {
    before(async () => {
      await c.createRepo('bad');
      await c.putFile('bad', 'master', '/keep', Buffer.from('keep'));
    });

    const headOf = async (): Promise<string | null> => (await c.inspectBranch('bad', 'master')).head;

    it('refuses invalid repo and branch names', async () => {
      await rejectsWith(c.createRepo('no/slash'), 'INVALID_NAME');
      await rejectsWith(c.createRepo('spaces are bad'), 'INVALID_NAME');
      await rejectsWith(c.createBranch('bad', 'bad.name'), 'INVALID_NAME');
    });

    it('refuses paths with .. segments or NUL bytes', async () => {
      const head = await headOf();
      await rejectsWith(c.putFile('bad', 'master', '/../etc/passwd', Buffer.from('x')), 'INVALID_PATH', /\.\./);
      await rejectsWith(c.putFile('bad', 'master', '/a\u0000b', Buffer.from('x')), 'INVALID_PATH', /NUL/);
      assert.equal(await headOf(), head);
    });

    it('refuses a put to a missing repo', async () => {
      await rejectsWith(c.putFile('nope', 'master', '/a', Buffer.from('x')), 'PFS_REPO_NOT_FOUND', /nope/);
    });

    it('refuses an unknown commit id', async () => {
      await rejectsWith(c.inspectCommit('bad', '0123456789abcdef0123456789abcdef'), 'PFS_COMMIT_NOT_FOUND');
      await rejectsWith(c.getFileBuffer('bad', '0123456789abcdef0123456789abcdef', '/keep'), 'PFS_COMMIT_NOT_FOUND');
    });

    it('refuses a tar entry that escapes its root, a symlink, and a malformed tar', async () => {
      const head = await headOf();
      const escaping = await tarOf({ 'ok.txt': 'fine', '../../escape.txt': 'evil' });
      await rejectsWith(c.putTar('bad', 'master', '/', escaping), 'PFS_TAR_INVALID', /escape/);
      const link = await tarOf({ 'ok.txt': 'fine' }, (p) => p.entry({ name: 'l', type: 'symlink', linkname: '/etc/passwd' }));
      await rejectsWith(c.putTar('bad', 'master', '/', link), 'PFS_TAR_INVALID', /symlink/);
      const good = await tarOf({ 'big.bin': randomBytes(100_000) });
      await rejectsWith(c.putTar('bad', 'master', '/', good.subarray(0, 50_000)), 'PFS_TAR_INVALID');
      await rejectsWith(c.putTar('bad', 'master', '/', Buffer.from('this is not a tar archive at all'.repeat(40))), 'PFS_TAR_INVALID');
      assert.equal(await headOf(), head);
      await rejectsWith(c.getFileBuffer('bad', 'master', '/ok.txt'), 'PFS_FILE_NOT_FOUND');
    });

    it('leaves the commit unchanged when a request body is cut off mid-upload', async () => {
      const head = await headOf();
      const up = await c.createUpload();
      const url = new URL(`/api/v1/uploads/${up.id}/file?path=/cut`, c.baseUrl);
      // Announce 1 MB, send 1 KB, then hang up.
      const net = await import('node:net');
      await new Promise<void>((resolve) => {
        const sock = net.connect(Number(url.port), url.hostname, () => {
          sock.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n`);
          sock.write(Buffer.alloc(1024, 7));
          setTimeout(() => sock.destroy(), 50);
        });
        sock.on('close', () => resolve());
        sock.on('error', () => undefined);
      });
      await up.commit('bad', 'master');
      assert.equal((await c.inspectCommit('bad', 'master')).sizeBytes, 4, 'the cut-off file is not in the commit');
      await rejectsWith(c.getFileBuffer('bad', 'master', '/cut'), 'PFS_FILE_NOT_FOUND');
      assert.equal((await c.inspectCommit('bad', 'master')).parent, head, 'only the empty upload was committed');
    });

    it('refuses a file where a directory exists, and the reverse', async () => {
      await c.putFile('bad', 'master', '/d/f', Buffer.from('x'));
      const head = await headOf();
      await rejectsWith(c.putFile('bad', 'master', '/d', Buffer.from('x')), 'PFS_PATH_CONFLICT');
      await rejectsWith(c.putFile('bad', 'master', '/keep/inner', Buffer.from('x')), 'PFS_PATH_CONFLICT');
      assert.equal(await headOf(), head);
    });

    it('answers malformed JSON bodies with INVALID_REQUEST_BODY and keeps serving', async () => {
      const res = await request(new URL('/api/v1/repos', c.baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": ' });
      assert.equal(res.statusCode, 400);
      const b = (await res.body.json()) as { error: { code: string } };
      assert.equal(b.error.code, 'INVALID_REQUEST_BODY');
      assert.equal((await c.getFileBuffer('bad', 'master', '/keep')).toString(), 'keep');
    });
  });
});
}
