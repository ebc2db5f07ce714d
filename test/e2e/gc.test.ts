/**
 * Garbage collection end to end, on a real daemon: a deleted 200 MB repo's packs go and the disk
 * usage drops by about that; uploads running during a collection (new bytes, and the very bytes
 * being collected) stay intact; kill -9 of the daemon in the middle of a collection loses
 * nothing (fsck clean, surviving files intact, the next run finishes the job); the same on
 * PostgreSQL metadata and on an S3 bucket (s3rver).
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Client, isSluiceError, type Client as ClientType } from '../../src/client/index.js';
import { dropPostgres, freshPostgres, startChildDaemon, startTestDaemon, tempDir, type TestDaemon } from './harness.js';
import { startS3Server, type TestS3Server } from '../support/s3-server.js';

const MB = 1024 * 1024;

/** `size` pseudo-random bytes from a seed (AES-CTR of zeros), streamed in 1 MiB pieces (never held whole). */
async function* bytesOf(seed: string, size: number): AsyncIterable<Uint8Array> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MB);
  for (let left = size; left > 0;) {
    const n = Math.min(left, MB);
    left -= n;
    yield cipher.update(zeros.subarray(0, n));
  }
}

async function digestOf(body: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const piece of body) h.update(piece);
  return h.digest('hex');
}

async function packBytes(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'objects', 'packs');
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

async function assertClean(client: ClientType): Promise<void> {
  const report = await client.fsck();
  assert.deepEqual(report.errors, [], 'fsck finds no error');
}

/** Puts with one retry on UNAVAILABLE: the documented answer when gc took a chunk mid-upload. */
async function putRetrying(client: ClientType, repo: string, path: string, body: () => AsyncIterable<Uint8Array> | Buffer): Promise<void> {
  try {
    await client.putFile(repo, 'master', path, body());
  } catch (err) {
    if (!isSluiceError(err, 'UNAVAILABLE')) throw err;
    await client.putFile(repo, 'master', path, body());
  }
}

/** The scenario every backend runs: a big repo deleted and collected, a small one kept. */
async function deleteAndCollect(t: TestDaemon, size: number, usage: () => Promise<number>): Promise<void> {
  const c = t.client;
  await c.createRepo('keep');
  await c.createRepo('big');
  for (let i = 0; i < 5; i++) await c.putFile('keep', 'master', `/k${i}`, randomBytes(1000 + i));
  const kept = await Promise.all([0, 1, 2, 3, 4].map(async (i) => c.getFileBuffer('keep', 'master', `/k${i}`)));
  await c.putFile('big', 'master', '/a', bytesOf('big-a', size / 2));
  await c.putFile('big', 'master', '/b', bytesOf('big-b', size / 2));
  const before = await usage();
  assert.ok(before >= size, `the store holds the big repo (${before} bytes)`);
  await c.deleteRepo('big', { force: true });
  const report = await c.gc();
  const afterGc = await usage();
  assert.ok(before - afterGc >= size * 0.99, `usage drops by about ${size} bytes: ${before} -> ${afterGc}`);
  assert.ok(afterGc < 1 * MB, `what is left is the small repo: ${afterGc} bytes`);
  assert.ok(report.bytesFreed >= size * 0.99 && report.packsDeleted >= 2 && report.chunksDeleted >= Math.floor(size / (4 * MB)), JSON.stringify(report));
  for (let i = 0; i < 5; i++) assert.ok((await c.getFileBuffer('keep', 'master', `/k${i}`)).equals(kept[i]!), `keep:/k${i} is intact`);
  await assertClean(c);
  // A second run finds nothing more.
  const again = await c.gc();
  assert.equal(again.chunksDeleted + again.packsDeleted + again.orphanPacks, 0, JSON.stringify(again));
}

describe('gc on SQLite and a local folder', () => {
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon();
  });
  after(async () => t.stop());

  it('reclaims a deleted 200 MB repo: disk usage drops by about that, other repos stay intact', async () => {
    await deleteAndCollect(t, 200 * MB, () => packBytes(t.dataDir));
  });

  it('reclaims squashed commits and aborted uploads, and keeps what open commits and uploads name', async () => {
    const c = t.client;
    await c.createRepo('sq');
    await c.putFile('sq', 'master', '/f', randomBytes(300_000));
    const first = (await c.listCommits('sq'))[0]!;
    await c.putFile('sq', 'master', '/f', randomBytes(300_001));
    const latest = await c.getFileBuffer('sq', 'master', '/f');
    await c.squashCommit('sq', first.id);
    const aborted = await c.createUpload();
    await aborted.putFile('/gone', randomBytes(200_000));
    await aborted.abort();
    const pending = await c.createUpload();
    const pendingBytes = randomBytes(250_000);
    await pending.putFile('/later', pendingBytes);
    const open = await c.startCommit('sq', 'dev');
    const openBytes = randomBytes(260_000);
    await c.putFile('sq', open.id, '/open', openBytes);
    const r = await c.gc();
    assert.ok(r.chunksDeleted >= 2, `the squashed commit's and the aborted upload's chunks go: ${JSON.stringify(r)}`);
    assert.ok((await c.getFileBuffer('sq', 'master', '/f')).equals(latest));
    await pending.commit('sq', 'master');
    assert.ok((await c.getFileBuffer('sq', 'master', '/later')).equals(pendingBytes), 'an upload in progress keeps its chunks');
    await c.finishCommit('sq', open.id);
    assert.ok((await c.getFileBuffer('sq', 'dev', '/open')).equals(openBytes), 'an open commit keeps its chunks');
    await assertClean(c);
  });

  it('keeps uploads that run during a collection intact, including re-uploads of the bytes being collected', async () => {
    const c = t.client;
    await c.createRepo('live');
    for (let round = 0; round < 4; round++) {
      const repo = `doomed${round}`;
      await c.createRepo(repo);
      const seeds = [0, 1, 2, 3, 4, 5].map((i) => `r${round}-${i}`);
      for (const s of seeds) await c.putFile(repo, 'master', `/${s}`, bytesOf(s, 3 * MB));
      await c.deleteRepo(repo, { force: true });
      // While gc runs: the same bytes again (they are being condemned), and new ones.
      const gc = c.gc();
      const puts = seeds.map((s) => putRetrying(c, 'live', `/${s}`, () => bytesOf(s, 3 * MB)));
      const fresh = randomBytes(2 * MB);
      puts.push(putRetrying(c, 'live', `/fresh${round}`, () => fresh));
      await Promise.all([gc, ...puts]);
      await c.gc();
      for (const s of seeds) assert.equal(await digestOf(await c.getFile('live', 'master', `/${s}`)), await digestOf(bytesOf(s, 3 * MB)), `live:/${s} is intact`);
      assert.ok((await c.getFileBuffer('live', 'master', `/fresh${round}`)).equals(fresh));
    }
    await assertClean(c);
  });
});

describe('gc killed with SIGKILL', () => {
  it('loses nothing: fsck is clean, surviving files are intact, and the next run finishes', async (t) => {
    const dataDir = await tempDir('sluice-gc-kill-');
    try {
      let d = await startChildDaemon(dataDir, 20_000, { args: ['--gc-grace', '0'] });
      let c = new Client({ address: d.address });
      await c.createRepo('keep');
      const kept = new Map<string, Buffer>();
      for (let i = 0; i < 20; i++) {
        const b = randomBytes(20_000 + i);
        kept.set(`/k${i}`, b);
        await c.putFile('keep', 'master', `/k${i}`, b);
      }
      await c.createRepo('doomed');
      for (let i = 0; i < 300; i++) await c.putFile('doomed', 'master', `/d${i}`, randomBytes(30_000));
      const packsBefore = (await readdir(join(dataDir, 'objects', 'packs'))).length;
      await c.deleteRepo('doomed', { force: true });
      const gc = c.gc().catch((err: unknown) => err);
      // Kill once the collector has begun deleting packs (or, on a fast machine, has finished).
      const deadline = Date.now() + 60_000;
      while ((await readdir(join(dataDir, 'objects', 'packs'))).length > packsBefore - 5 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      d.proc.kill('SIGKILL');
      await new Promise((r) => d.proc.once('exit', r));
      await gc;
      await c.close();
      const mid = (await readdir(join(dataDir, 'objects', 'packs'))).length;
      t.diagnostic(`packs: ${packsBefore} before, ${mid} after the kill`);
      d = await startChildDaemon(dataDir, 20_000, { args: ['--gc-grace', '0'] });
      c = new Client({ address: d.address });
      await assertClean(c);
      for (const [path, b] of kept) assert.ok((await c.getFileBuffer('keep', 'master', path)).equals(b), `keep:${path} is intact`);
      const r = await c.gc();
      const left = (await readdir(join(dataDir, 'objects', 'packs'))).length;
      assert.equal(left, 20, `only the kept repo's 20 packs remain (were ${packsBefore}, ${mid} after the kill): ${JSON.stringify(r)}`);
      await assertClean(c);
      for (const [path, b] of kept) assert.ok((await c.getFileBuffer('keep', 'master', path)).equals(b), `keep:${path} is intact after the second run`);
      await c.close();
      d.proc.kill('SIGTERM');
      await new Promise((r) => d.proc.once('exit', r));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('gc on PostgreSQL metadata', async () => {
  const url = await freshPostgres();
  if (url === undefined) {
    it('reclaims a deleted repo on PostgreSQL', { skip: 'PostgreSQL is unreachable (set REQUIRE_SERVICES=1 to fail instead)' }, () => undefined);
    return;
  }
  let t: TestDaemon;
  before(async () => {
    t = await startTestDaemon(undefined, { metadata: url });
  });
  after(async () => {
    await t.stop();
    await dropPostgres(url);
  });

  it('reclaims a deleted 40 MB repo on PostgreSQL', async () => {
    await deleteAndCollect(t, 40 * MB, () => packBytes(t.dataDir));
  });
});

describe('gc on an S3 bucket (s3rver)', () => {
  let s3: TestS3Server;
  let t: TestDaemon;
  let admin: S3Client;
  let prefix: string;
  before(async () => {
    s3 = await startS3Server();
    admin = new S3Client(s3.clientConfig);
    const url = s3.freshUrl('gc');
    prefix = url.slice(`s3://${s3.bucket}/`.length);
    for (const [k, v] of Object.entries(s3.env)) process.env[k] = v;
    t = await startTestDaemon(undefined, { objects: url });
  });
  after(async () => {
    await t.stop();
    admin.destroy();
    await s3.stop();
  });

  it('reclaims a deleted 40 MB repo from the bucket', async () => {
    const usage = async (): Promise<number> => {
      let total = 0;
      let token: string | undefined;
      do {
        const page = await admin.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) total += o.Size ?? 0;
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return total;
    };
    await deleteAndCollect(t, 40 * MB, usage);
  });
});
