/**
 * Pachyderm's gRPC API end to end: a real daemon, a real grpc-js client built from the project's
 * protos (test/e2e/grpc-client.ts), on the same port as the HTTP API. Covers every method the
 * pfs, version, admin, transaction and health services serve, streams cut off mid-way (a
 * cancelled ModifyFile changes nothing), errors and their status codes, and auth on and off.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import tarStream from 'tar-stream';
import { Readable } from 'node:stream';
import { eventually, startTestDaemon, type TestDaemon } from './harness.js';
import { GrpcTestClient, branch, commitOf, fileOf, putMsgs, statusOf, type Msg } from './grpc-client.js';
import { Client } from '../../src/client/index.js';
import { FLOW_CONTROL_WINDOW_BYTES, MAX_FRAME_BYTES } from '../../src/grpc/server.js';
import http2 from 'node:http2';

async function untar(bytes: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ex = tarStream.extract();
  Readable.from([bytes]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (entry.header.type === 'file') out[entry.header.name] = Buffer.concat(chunks).toString();
  }
  return out;
}

async function bytesOf(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const m of stream) parts.push((m as { value: Buffer }).value);
  return Buffer.concat(parts);
}

describe('gRPC API (auth off)', () => {
  let t: TestDaemon;
  let g: GrpcTestClient;
  before(async () => {
    t = await startTestDaemon();
    g = new GrpcTestClient(t.daemon.address);
  });
  after(async () => {
    g.close();
    await t.stop();
  });

  it('serves gRPC and HTTP/1.1 on one port', async () => {
    const v = await g.unary('version', 'GetVersion');
    assert.equal(v.major, 2);
    assert.match(v.additional, /^sluice-/);
    const http = await t.client.version();
    assert.equal(`sluice-${http.version}`, v.additional);
    const res = await fetch(`http://${t.daemon.address}/api/v1/health`);
    assert.equal(res.status, 200);
    assert.equal((await g.unary('health', 'Check', { service: '' })).status, 'SERVING');
    assert.equal((await g.unary('health', 'Check', { service: 'pfs_v2.API' })).status, 'SERVING');
    const cluster = await g.unary('admin', 'InspectCluster', { client_version: v });
    assert.match(cluster.id, /^[0-9a-f]{32}$/);
    assert.equal(cluster.version_warnings_ok, true);
  });

  it('advertises wide HTTP/2 windows and large frames (grpc-js internals still as expected)', async () => {
    const session = http2.connect(`http://${t.daemon.address}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      assert.equal(settings.initialWindowSize, FLOW_CONTROL_WINDOW_BYTES);
      assert.equal(settings.maxFrameSize, MAX_FRAME_BYTES);
    } finally {
      session.close();
    }
  });

  it('creates, inspects, lists and deletes repos, and answers NOT_FOUND / ALREADY_EXISTS', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'r1', type: 'user' }, description: 'first' });
    const info = await g.unary('pfs', 'InspectRepo', { repo: { name: 'r1' } });
    assert.equal(info.repo.name, 'r1');
    assert.equal(info.repo.project.name, 'default');
    assert.equal(info.description, 'first');
    assert.deepEqual(info.branches.map((b: Msg) => b.name), ['master']);
    // The HTTP API sees what gRPC made.
    assert.equal((await t.client.inspectRepo('r1')).description, 'first');
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'r1' }, description: 'second', update: true });
    assert.equal((await g.unary('pfs', 'InspectRepo', { repo: { name: 'r1' } })).description, 'second');

    const dup = await statusOf(g.unary('pfs', 'CreateRepo', { repo: { name: 'r1' } }));
    assert.equal(dup.code, status.ALREADY_EXISTS);
    assert.match(dup.details, /already exists/);
    const missing = await statusOf(g.unary('pfs', 'InspectRepo', { repo: { name: 'nope' } }));
    assert.equal(missing.code, status.NOT_FOUND);
    assert.match(missing.details, /not found/);
    assert.equal(missing.sluiceCode, 'PFS_REPO_NOT_FOUND');
    const otherProject = await statusOf(g.unary('pfs', 'InspectRepo', { repo: { name: 'r1', project: { name: 'elsewhere' } } }));
    assert.equal(otherProject.code, status.NOT_FOUND);
    assert.match(otherProject.details, /project elsewhere not found/);
    const badName = await statusOf(g.unary('pfs', 'CreateRepo', { repo: { name: 'bad name!' } }));
    assert.equal(badName.code, status.INVALID_ARGUMENT);

    const names = (await g.list('pfs', 'ListRepo', { type: 'user' })).map((r) => r.repo.name);
    assert.ok(names.includes('r1'));
    await g.unary('pfs', 'DeleteRepo', { repo: { name: 'r1' } });
    assert.equal((await statusOf(g.unary('pfs', 'InspectRepo', { repo: { name: 'r1' } }))).code, status.NOT_FOUND);
  });

  it('starts, fills, finishes, inspects and lists commits; ModifyFile streams delete + add chunks', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'c1' } });
    const c = await g.unary('pfs', 'StartCommit', { branch: branch('c1'), description: 'one' });
    assert.match(c.id, /^[0-9a-f]{32}$/);
    assert.equal(c.branch.name, 'master');
    // wait=FINISHED blocks until the commit finishes.
    const waited = g.unary('pfs', 'InspectCommit', { commit: { repo: { name: 'c1' }, id: c.id }, wait: 'FINISHED' });
    const open = await g.unary('pfs', 'InspectCommit', { commit: c });
    assert.equal(open.finished, null);
    await g.modifyFile([
      { set_commit: c },
      { delete_file: { path: '/a.txt' } },
      { add_file: { path: '/a.txt', raw: { value: Buffer.from('hello ') } } },
      { add_file: { path: '/a.txt', raw: { value: Buffer.from('world') } } },
      { add_file: { path: '/dir/b.txt', raw: { value: Buffer.from('bee') } } },
    ]);
    await g.unary('pfs', 'FinishCommit', { commit: c });
    const done = await waited;
    assert.notEqual(done.finished, null);
    assert.equal(done.commit.id, c.id);
    assert.equal(done.details.size_bytes, 14);
    assert.equal(done.origin.kind, 'USER');
    assert.equal(done.description, 'one');
    // A ModifyFile on a branch whose head is finished makes and finishes a new commit.
    await g.modifyFile(putMsgs('c1', { '/c.txt': 'sea' }));
    const commits = await g.list('pfs', 'ListCommit', { repo: { name: 'c1' }, to: commitOf('c1') });
    assert.equal(commits.length, 2);
    assert.equal(commits[1]!.commit.id, c.id);
    assert.equal(commits[0]!.parent_commit.id, c.id);
    const oldest = await g.list('pfs', 'ListCommit', { repo: { name: 'c1' }, number: 1, reverse: true });
    assert.equal(oldest[0]!.commit.id, c.id);
    assert.equal(await t.client.getFileBuffer('c1', 'master', '/a.txt').then(String), 'hello world');
    const set = await g.list('pfs', 'InspectCommitSet', { commit_set: { id: c.id } });
    assert.deepEqual(set.map((x) => x.commit.repo.name), ['c1']);
    const finishAgain = await statusOf(g.unary('pfs', 'FinishCommit', { commit: c }));
    assert.equal(finishAgain.code, status.FAILED_PRECONDITION);
  });

  it('reads files: GetFile (with offset), GetFileTAR, InspectFile, ListFile, WalkFile, GlobFile, DiffFile', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'f1' } });
    await g.modifyFile(putMsgs('f1', { '/a.txt': 'alpha', '/d/x.txt': 'x', '/d/e/y.txt': 'yy' }));
    assert.equal((await bytesOf(g.stream('pfs', 'GetFile', { file: fileOf('f1', '/a.txt') }))).toString(), 'alpha');
    assert.equal((await bytesOf(g.stream('pfs', 'GetFile', { file: fileOf('f1', '/a.txt'), offset: 2 }))).toString(), 'pha');
    const tar = await untar(await bytesOf(g.stream('pfs', 'GetFileTAR', { file: fileOf('f1', '/d') })));
    assert.deepEqual(Object.values(tar).sort(), ['x', 'yy']);
    const getMissing = await statusOf(bytesOf(g.stream('pfs', 'GetFile', { file: fileOf('f1', '/none') })));
    assert.equal(getMissing.code, status.NOT_FOUND);

    const info = await g.unary('pfs', 'InspectFile', { file: fileOf('f1', '/a.txt') });
    assert.equal(info.file_type, 'FILE');
    assert.equal(info.size_bytes, 5);
    assert.equal(info.file.commit.branch.name, 'master');
    assert.equal(info.hash.length, 32);
    const top = await g.list('pfs', 'ListFile', { file: fileOf('f1', '/') });
    assert.deepEqual(top.map((f) => [f.file.path, f.file_type]), [['/a.txt', 'FILE'], ['/d/', 'DIR']]);
    const walk = await g.list('pfs', 'WalkFile', { file: fileOf('f1', '/d') });
    assert.deepEqual(walk.map((f) => f.file.path), ['/d/', '/d/e/', '/d/e/y.txt', '/d/x.txt']);
    const glob = await g.list('pfs', 'GlobFile', { commit: commitOf('f1'), pattern: '/d/*' });
    assert.deepEqual(glob.map((f) => f.file.path), ['/d/e/', '/d/x.txt']);

    await g.modifyFile([{ set_commit: commitOf('f1') }, { delete_file: { path: '/a.txt' } }, { add_file: { path: '/n.txt', raw: { value: Buffer.from('new') } } }]);
    const diff = await g.list('pfs', 'DiffFile', { new_file: fileOf('f1', '/') });
    const byPath = Object.fromEntries(diff.map((d) => [(d.new_file ?? d.old_file).file.path, [d.new_file !== null, d.old_file !== null]]));
    assert.deepEqual(byPath['/a.txt'], [false, true]);
    assert.deepEqual(byPath['/n.txt'], [true, false]);
  });

  it('copies and deletes files inside one ModifyFile, atomically', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'm1' } });
    await g.modifyFile(putMsgs('m1', { '/src.txt': 'source', '/gone.txt': 'bye' }));
    await g.modifyFile([
      { set_commit: commitOf('m1') },
      { copy_file: { dst: '/copy.txt', src: fileOf('m1', '/src.txt') } },
      { delete_file: { path: '/gone.txt' } },
    ]);
    const names = (await g.list('pfs', 'ListFile', { file: fileOf('m1', '/') })).map((f) => f.file.path);
    assert.deepEqual(names, ['/copy.txt', '/src.txt']);
    assert.equal((await bytesOf(g.stream('pfs', 'GetFile', { file: fileOf('m1', '/copy.txt') }))).toString(), 'source');
  });

  it('a ModifyFile cancelled mid-stream, or refused mid-stream, changes nothing', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'a1' } });
    await g.modifyFile(putMsgs('a1', { '/keep.txt': 'kept' }));
    const head = (await g.unary('pfs', 'InspectBranch', { branch: branch('a1') })).head.id;

    const { call, done } = g.clientStream('pfs', 'ModifyFile');
    call.write({ set_commit: commitOf('a1') });
    call.write({ delete_file: { path: '/keep.txt' } });
    call.write({ add_file: { path: '/half.txt', raw: { value: Buffer.alloc(3 * 1024 * 1024, 7) } } });
    // Cancel once the server is at work on the stream (its upload is open).
    await eventually(async () => ((await t.daemon.pfs.ctx.db.selectFrom('stages').select('id').where('id', 'like', 'u/%').execute()).length > 0 ? true : undefined));
    call.cancel();
    assert.equal((await statusOf(done)).code, status.CANCELLED);

    const refused = await statusOf(g.modifyFile([
      { set_commit: commitOf('a1') },
      { delete_file: { path: '/keep.txt' } },
      { add_file: { path: '/u.txt', url: { URL: 'http://example.com/x' } } },
    ]));
    assert.equal(refused.code, status.UNIMPLEMENTED);
    assert.match(refused.details, /URL/);
    const noCommit = await statusOf(g.modifyFile([{ add_file: { path: '/x', raw: { value: Buffer.from('x') } } }]));
    assert.equal(noCommit.code, status.INVALID_ARGUMENT);

    // Nothing moved: same head, same files, and every upload the calls opened is gone.
    assert.equal((await g.unary('pfs', 'InspectBranch', { branch: branch('a1') })).head.id, head);
    assert.deepEqual((await g.list('pfs', 'ListFile', { file: fileOf('a1', '/') })).map((f) => f.file.path), ['/keep.txt']);
    await eventually(async () => ((await t.daemon.pfs.ctx.db.selectFrom('stages').select('id').where('id', 'like', 'u/%').execute()).length === 0 ? true : undefined));
    // And the daemon keeps serving.
    await g.modifyFile(putMsgs('a1', { '/after.txt': 'ok' }));
  });

  it('accepts a 20 MiB ModifyFile message (python-pachyderm sends 19 MiB chunks)', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'big' } });
    const data = Buffer.alloc(20 * 1024 * 1024, 1);
    await g.modifyFile(putMsgs('big', { '/big.bin': data }));
    const info = await g.unary('pfs', 'InspectFile', { file: fileOf('big', '/big.bin') });
    assert.equal(info.size_bytes, data.length);
    const back = await bytesOf(g.stream('pfs', 'GetFile', { file: fileOf('big', '/big.bin') }));
    assert.ok(back.equals(data));
  });

  it('creates, inspects, lists and deletes branches', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'b1' } });
    await g.modifyFile(putMsgs('b1', { '/f': '1' }));
    const head = (await g.unary('pfs', 'InspectBranch', { branch: branch('b1') })).head;
    await g.unary('pfs', 'CreateBranch', { branch: branch('b1', 'dev'), head: commitOf('b1', 'master') });
    const dev = await g.unary('pfs', 'InspectBranch', { branch: branch('b1', 'dev') });
    assert.equal(dev.head.id, head.id);
    assert.deepEqual((await g.list('pfs', 'ListBranch', { repo: { name: 'b1' } })).map((b) => b.branch.name).sort(), ['dev', 'master']);
    await g.unary('pfs', 'DeleteBranch', { branch: branch('b1', 'dev') });
    assert.equal((await statusOf(g.unary('pfs', 'InspectBranch', { branch: branch('b1', 'dev') }))).code, status.NOT_FOUND);
    const trig = await statusOf(g.unary('pfs', 'CreateBranch', { branch: branch('b1', 't'), trigger: { branch: 'master' } }));
    assert.equal(trig.code, status.INVALID_ARGUMENT);
  });

  it('streams commits as they finish (SubscribeCommit) until the client cancels', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 's1' } });
    await g.modifyFile(putMsgs('s1', { '/1': '1' }));
    const stream = g.stream('pfs', 'SubscribeCommit', { repo: { name: 's1' }, branch: 'master', state: 'FINISHED' });
    const seen: string[] = [];
    const it2 = stream[Symbol.asyncIterator]();
    seen.push(((await it2.next()).value as Msg).commit.id);
    await g.modifyFile(putMsgs('s1', { '/2': '2' }));
    seen.push(((await it2.next()).value as Msg).commit.id);
    stream.cancel();
    const ids = (await g.list('pfs', 'ListCommit', { repo: { name: 's1' }, reverse: true })).map((c) => c.commit.id);
    assert.deepEqual(seen, ids);

    // With state STARTED (python-pachyderm's default) an open commit arrives when it starts.
    const started = g.stream('pfs', 'SubscribeCommit', { repo: { name: 's1' }, branch: 'master', state: 'STARTED', from: { repo: { name: 's1' }, id: ids[1] } });
    const it3 = started[Symbol.asyncIterator]();
    const open = await g.unary('pfs', 'StartCommit', { branch: branch('s1') });
    const got = ((await it3.next()).value as Msg);
    assert.equal(got.commit.id, open.id);
    assert.equal(got.finished, null);
    started.cancel();
    await g.unary('pfs', 'FinishCommit', { commit: open });
  });

  it('answers in the shapes Pachyderm\'s clients parse', async () => {
    // Deleting a repo that does not exist succeeds, as in Pachyderm (clients clean up with it).
    assert.equal((await statusOf(g.unary('pfs', 'DeleteRepo', { repo: { name: 'never-made' }, force: true }))).code, 'ok');
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'p1' } });
    // A new repo lists no branch until its first commit (Sluice's empty master is left out).
    assert.deepEqual(await g.list('pfs', 'ListBranch', { repo: { name: 'p1' } }), []);
    await g.unary('pfs', 'CreateBranch', { branch: branch('p1', 'foobar') });
    assert.deepEqual((await g.list('pfs', 'ListBranch', { repo: { name: 'p1' } })).map((b) => b.branch.name), ['foobar']);
    const c = await g.unary('pfs', 'StartCommit', { branch: branch('p1') });
    const again = await statusOf(g.unary('pfs', 'StartCommit', { branch: branch('p1') }));
    assert.equal(again.code, status.FAILED_PRECONDITION);
    assert.match(again.details, /parent commit .* has not been finished/);
    await g.unary('pfs', 'FinishCommit', { commit: c });
    const missing = await statusOf(g.unary('pfs', 'InspectFile', { file: fileOf('p1', '/nothing') }));
    assert.match(missing.details, /^file .+ not found in repo .+ at commit .+$/);
    const noRepo = await statusOf(g.unary('pfs', 'InspectFile', { file: fileOf('no-such-repo', '/x') }));
    assert.match(noRepo.details, /^branch .+ not found in repo .+$/);
  });

  it('diffs two different paths, and lists commit sets', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'd2' } });
    await g.modifyFile(putMsgs('d2', { '/file1.dat': 'old 1', '/file2.dat': 'old 2' }));
    const oldId = (await g.unary('pfs', 'InspectBranch', { branch: branch('d2') })).head.id;
    await g.modifyFile(putMsgs('d2', { '/file1.dat': 'new 1' }));
    const diff = await g.list('pfs', 'DiffFile', { new_file: fileOf('d2', '/file1.dat'), old_file: fileOf('d2', '/file2.dat', 'master', oldId) });
    assert.deepEqual(diff.map((d) => [d.new_file?.file.path ?? null, d.old_file?.file.path ?? null]), [['/file1.dat', null], [null, '/file2.dat']]);
    const sets = await g.list('pfs', 'ListCommitSet', {});
    const d2Sets = sets.filter((s) => s.commits.some((c: Msg) => c.commit.repo.name === 'd2'));
    assert.equal(d2Sets.length, 2);
    assert.equal(d2Sets[1]!.commit_set.id, oldId);
  });

  it('squashes and drops commit sets', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'q1' } });
    await g.modifyFile(putMsgs('q1', { '/1': '1' }));
    const first = (await g.unary('pfs', 'InspectBranch', { branch: branch('q1') })).head.id;
    await g.modifyFile(putMsgs('q1', { '/2': '2' }));
    const second = (await g.unary('pfs', 'InspectBranch', { branch: branch('q1') })).head.id;
    await g.unary('pfs', 'SquashCommitSet', { commit_set: { id: first } });
    assert.deepEqual((await g.list('pfs', 'ListCommit', { repo: { name: 'q1' } })).map((c) => c.commit.id), [second]);
    await g.unary('pfs', 'DropCommitSet', { commit_set: { id: second } });
    assert.deepEqual(await g.list('pfs', 'ListCommit', { repo: { name: 'q1' } }), []);
  });

  it('runs Fsck, lists the one project, and deletes everything', async () => {
    assert.deepEqual(await g.list('pfs', 'Fsck', {}), []);
    assert.deepEqual((await g.list('pfs', 'ListProject', {})).map((p) => p.project.name), ['default']);
    assert.equal((await g.unary('pfs', 'InspectProject', { project: { name: 'default' } })).project.name, 'default');
    await g.unary('pfs', 'DeleteAll', {});
    assert.deepEqual(await g.list('pfs', 'ListRepo', {}), []);
  });

  it('answers UNIMPLEMENTED naming the method for what it does not serve, and refuses transactions', async () => {
    const clear = await statusOf(g.unary('pfs', 'ClearCommit', { commit: commitOf('x') }));
    assert.equal(clear.code, status.UNIMPLEMENTED);
    assert.match(clear.details, /pfs_v2\.API\/ClearCommit/);
    const start = await statusOf(g.unary('transaction', 'StartTransaction', {}));
    assert.equal(start.code, status.UNIMPLEMENTED);
    assert.match(start.details, /transaction_v2\.API\/StartTransaction/);
    assert.deepEqual((await g.unary('transaction', 'ListTransaction', {})).transaction_info, []);
    const inTxn = new GrpcTestClient(t.daemon.address, undefined, { 'pach-transaction': 'abc' });
    try {
      const r = await statusOf(inTxn.unary('pfs', 'CreateRepo', { repo: { name: 'txn' } }));
      assert.equal(r.code, status.UNIMPLEMENTED);
      assert.match(r.details, /transaction abc/);
      assert.equal((await statusOf(g.unary('pfs', 'InspectRepo', { repo: { name: 'txn' } }))).code, status.NOT_FOUND);
    } finally {
      inTxn.close();
    }
  });
});

describe('gRPC API (auth on)', () => {
  let t: TestDaemon;
  let root: string;
  before(async () => {
    t = await startTestDaemon();
    root = (await t.client.activateAuth()).rootToken;
  });
  after(async () => t.stop());

  it('authenticates with authn-token and authorizes through the HTTP route table', async () => {
    const admin = new GrpcTestClient(t.daemon.address, root);
    const anon = new GrpcTestClient(t.daemon.address);
    const bad = new GrpcTestClient(t.daemon.address, 'f'.repeat(64));
    const robotToken = (await new Client({ address: t.daemon.address, token: root }).getRobotToken('reader')).token;
    const robot = new GrpcTestClient(t.daemon.address, robotToken);
    try {
      // Version and health stay public.
      assert.equal((await anon.unary('version', 'GetVersion')).major, 2);
      const none = await statusOf(anon.list('pfs', 'ListRepo', {}));
      assert.equal(none.code, status.UNAUTHENTICATED);
      assert.equal((await statusOf(bad.list('pfs', 'ListRepo', {}))).code, status.UNAUTHENTICATED);

      await admin.unary('pfs', 'CreateRepo', { repo: { name: 'secret' } });
      await admin.modifyFile(putMsgs('secret', { '/s': 'hush' }));
      const denied = await statusOf(robot.unary('pfs', 'InspectRepo', { repo: { name: 'secret' } }));
      assert.equal(denied.code, status.PERMISSION_DENIED);
      assert.match(denied.details, /robot:reader/);
      const write = await statusOf(robot.modifyFile(putMsgs('secret', { '/s': 'overwritten' })));
      assert.equal(write.code, status.PERMISSION_DENIED);

      await new Client({ address: t.daemon.address, token: root }).setRepoRole('secret', 'robot:reader', 'repoReader');
      assert.equal((await robot.unary('pfs', 'InspectRepo', { repo: { name: 'secret' } })).repo.name, 'secret');
      assert.equal((await bytesOf(robot.stream('pfs', 'GetFile', { file: fileOf('secret', '/s') }))).toString(), 'hush');
      // Reading is not writing: the ModifyFile is refused at set_commit, and nothing changed.
      assert.equal((await statusOf(robot.modifyFile(putMsgs('secret', { '/s': 'overwritten' })))).code, status.PERMISSION_DENIED);
      assert.equal((await bytesOf(admin.stream('pfs', 'GetFile', { file: fileOf('secret', '/s') }))).toString(), 'hush');
      // A copy out of a repo the caller cannot read is refused too.
      await admin.unary('pfs', 'CreateRepo', { repo: { name: 'hidden' } });
      await admin.modifyFile(putMsgs('hidden', { '/h': 'h' }));
      await new Client({ address: t.daemon.address, token: root }).setRepoRole('secret', 'robot:reader', 'repoWriter');
      const copy = await statusOf(robot.modifyFile([{ set_commit: commitOf('secret') }, { copy_file: { dst: '/h', src: fileOf('hidden', '/h') } }]));
      assert.equal(copy.code, status.PERMISSION_DENIED);
      // The creator of a repo owns it (the route's effect runs for gRPC too).
      await robot.unary('pfs', 'CreateRepo', { repo: { name: 'mine' } });
      await robot.unary('pfs', 'DeleteRepo', { repo: { name: 'mine' } });
      // Cluster-wide deletion is for clusterAdmin.
      assert.equal((await statusOf(robot.unary('pfs', 'DeleteAll', {}))).code, status.PERMISSION_DENIED);
    } finally {
      admin.close();
      anon.close();
      bad.close();
      robot.close();
    }
  });
});
