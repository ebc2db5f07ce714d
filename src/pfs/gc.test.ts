/**
 * The collector against uploads at the points where they race (real SQLite, real folder): an
 * upload that counted on a chunk before it was condemned, one that starts after, and one that
 * records between the marks. Each must end with every chunk it names readable, or fail whole with
 * UNAVAILABLE (retryable), never with a name of a deleted chunk.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isSluiceError } from '../errors/index.js';
import { openSqliteMetadataStore, type MetadataStore } from '../storage/metadata/index.js';
import { FsObjectStore, hashChunk } from '../storage/objects/index.js';
import { openPfs, type Pfs } from './index.js';
import { PackSession } from './pack-session.js';

describe('collectGarbage beside uploads', () => {
  let dir: string;
  let meta: MetadataStore;
  let objects: FsObjectStore;
  let pfs: Pfs;
  const data = randomBytes(100_000);
  const hash = hashChunk(data);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-gc-unit-'));
    meta = await openSqliteMetadataStore(join(dir, 'meta.db'));
    objects = new FsObjectStore(join(dir, 'objects'));
    await objects.open();
    pfs = openPfs(meta, objects);
    // A chunk that only a deleted repo named: garbage.
    await pfs.service.createRepo({ name: 'old' });
    await pfs.uploads.putAndCommit({ repo: 'old', ref: 'master', path: '/f' }, (async function* () {
      yield data;
    })());
    await pfs.service.deleteRepo('old', { force: true });
  });

  afterEach(async () => {
    await objects.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function chunkRow(): Promise<{ pack: string; offset: number; length: number; condemned: number | null } | undefined> {
    return meta.db.selectFrom('chunks').select(['pack', 'offset', 'length', 'condemned']).where('hash', '=', hash).executeTakeFirst();
  }

  async function readable(): Promise<boolean> {
    const row = await chunkRow();
    if (row === undefined) return false;
    return hashChunk(await objects.read(row)) === hash;
  }

  it('deletes the garbage chunk and its pack when nothing races', async () => {
    const r = await pfs.gc({ drainMs: 0 });
    assert.equal(r.chunksDeleted, 1);
    assert.equal(r.packsDeleted, 1);
    assert.equal(await chunkRow(), undefined);
  });

  it('fails an upload whole, as UNAVAILABLE, when the chunk it counted on was collected before it recorded', async () => {
    const s = new PackSession(pfs.ctx);
    await s.addChunk(data); // the index has it, live: it will not be written
    await s.seal();
    await pfs.gc({ drainMs: 0 });
    assert.equal(await chunkRow(), undefined);
    await assert.rejects(pfs.ctx.tx((trx) => s.recordTx(trx)), (err) => isSluiceError(err, 'UNAVAILABLE') && err.message.includes(hash));
    s.release();
  });

  it('rescues the chunk when that upload records between condemning and the second mark', async () => {
    const s = new PackSession(pfs.ctx);
    await s.addChunk(data);
    await s.seal();
    const r = await pfs.gc({
      drainMs: 0,
      onPhase: async (phase) => {
        if (phase !== 'condemned') return;
        assert.notEqual((await chunkRow())?.condemned, null, 'the chunk is condemned');
        await pfs.ctx.tx(async (trx) => {
          await s.recordTx(trx);
          await trx.insertInto('stages').values({ id: 'u/keep', created_at: Date.now(), expires_at: null }).execute();
          await trx.insertInto('staged_ops').values({ stage: 'u/keep', path: '/f', op: 'put', value: JSON.stringify({ s: data.length, c: [[hash, data.length]] }) }).execute();
        });
        s.release();
      },
    });
    assert.equal(r.chunksDeleted, 0, JSON.stringify(r));
    assert.equal((await chunkRow())?.condemned, null, 'the mark is cleared');
    assert.ok(await readable());
  });

  it('keeps a chunk that an upload names after the second mark (its recording clears the mark first)', async () => {
    const r = await pfs.gc({
      drainMs: 0,
      onPhase: async (phase) => {
        if (phase !== 'marked') return;
        // The upload starts now: the chunk is condemned, so it is written again, and recorded.
        const s = new PackSession(pfs.ctx);
        await s.addChunk(data);
        await s.seal();
        await pfs.ctx.tx(async (trx) => {
          await s.recordTx(trx);
          await trx.insertInto('stages').values({ id: 'u/late', created_at: Date.now(), expires_at: null }).execute();
          await trx.insertInto('staged_ops').values({ stage: 'u/late', path: '/f', op: 'put', value: JSON.stringify({ s: data.length, c: [[hash, data.length]] }) }).execute();
        });
        s.release();
      },
    });
    assert.equal(r.chunksDeleted, 0, JSON.stringify(r));
    assert.ok(await readable(), 'the named chunk is readable after the run');
    // The redundant copy's pack is garbage now and goes in the next run; the chunk stays.
    const again = await pfs.gc({ drainMs: 0 });
    assert.equal(again.chunksDeleted, 0);
    assert.ok(await readable());
  });

  it('leaves a sealed, not yet recorded pack of this process alone, and collects it once abandoned and past the grace', async () => {
    const s = new PackSession(pfs.ctx);
    await s.addChunk(randomBytes(5000));
    await s.seal();
    const r1 = await pfs.gc({ drainMs: 0, graceMs: 0 });
    assert.equal(r1.youngPacks, 1);
    assert.equal(r1.orphanPacks, 0);
    s.release(); // the request died between seal and record
    const r2 = await pfs.gc({ drainMs: 0, graceMs: 0 });
    assert.equal(r2.orphanPacks, 1);
    const r3 = await pfs.gc({ drainMs: 0 });
    assert.equal(r3.orphanPacks, 0);
  });

  it('leaves young unrecorded packs alone within the grace period', async () => {
    const w = await objects.createPackWriter();
    await w.append(randomBytes(10));
    await w.seal();
    const r = await pfs.gc({ drainMs: 0 });
    assert.equal(r.youngPacks, 1);
    assert.equal(r.orphanPacks, 0);
    const later = await pfs.gc({ drainMs: 0, graceMs: 0 });
    assert.equal(later.orphanPacks, 1);
  });

  it('reads through a location cached before another daemon collected the chunk and it was stored again', async () => {
    // Two daemons on the same stores: `other` collects and re-stores while `pfs` has the old location cached.
    const other = openPfs(meta, objects);
    const body = (): AsyncIterable<Uint8Array> => (async function* () {
      yield data;
    })();
    await pfs.service.createRepo({ name: 'a' });
    await pfs.uploads.putAndCommit({ repo: 'a', ref: 'master', path: '/x' }, body());
    const read = async (repo: string): Promise<Buffer> => {
      const { body: stream } = await pfs.files.getFile(repo, 'master', '/x');
      const parts: Buffer[] = [];
      for await (const p of stream) parts.push(p as Buffer);
      return Buffer.concat(parts);
    };
    assert.ok((await read('a')).equals(data));
    const before = await chunkRow();
    await other.service.deleteRepo('a', { force: true });
    await other.gc({ drainMs: 0 });
    assert.equal(await chunkRow(), undefined);
    await other.service.createRepo({ name: 'b' });
    await other.uploads.putAndCommit({ repo: 'b', ref: 'master', path: '/x' }, body());
    assert.notEqual((await chunkRow())?.pack, before?.pack, 'stored again in another pack');
    assert.ok((await read('b')).equals(data), 'the stale cached location is re-read from the index');
  });
});
