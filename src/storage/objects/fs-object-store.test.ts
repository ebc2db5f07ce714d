import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../errors/index.js';
import { FsObjectStore } from './fs-object-store.js';
import { runObjectStoreConformance } from './object-store-conformance.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-objects-'));
}

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function listIds(store: FsObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.listPacks()) ids.push(id);
  return ids.sort();
}

runObjectStoreConformance('FsObjectStore', async () => {
  const root = await tempRoot();
  return { store: new FsObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

// Small buffers and a tiny handle cache push the same suite through buffer turnover and eviction.
runObjectStoreConformance('FsObjectStore with a 4 KiB write buffer and 2 cached readers', async () => {
  const root = await tempRoot();
  return { store: new FsObjectStore(root, { writeBufferSize: 4096, readerCacheSize: 2 }), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsObjectStore', () => {
  it('writes into tmp/ and seals into packs/<id>.pack', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await store.open();
      const writer = await store.createPackWriter();
      await writer.append(randomBytes(10));
      assert.deepEqual(await readdir(join(root, 'tmp')), [`${writer.id}.pack.tmp`]);
      assert.deepEqual(await readdir(join(root, 'packs')), []);
      await writer.seal();
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      assert.deepEqual(await readdir(join(root, 'packs')), [`${writer.id}.pack`]);
      await store.close();
    });
  });

  it('leaves only a tmp file after a crash before seal, which the next open removes', async () => {
    await withRoot(async (root) => {
      const crashed = new FsObjectStore(root);
      await crashed.open();
      const sealed = await crashed.createPackWriter();
      const data = randomBytes(5000);
      await sealed.append(data);
      await sealed.seal();
      const unsealed = await crashed.createPackWriter();
      await unsealed.append(randomBytes(3 * 1024 * 1024));
      // The "crashed" store is never closed before the restart: its writer just stops.
      assert.deepEqual(await readdir(join(root, 'tmp')), [`${unsealed.id}.pack.tmp`]);

      const restarted = new FsObjectStore(root);
      assert.deepEqual(await restarted.open(), { removedTemp: 1 });
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      assert.deepEqual(await listIds(restarted), [sealed.id]);
      assert.ok((await restarted.read({ pack: sealed.id, offset: 0, length: data.length })).equals(data));
      await restarted.close();
      await crashed.close();
    });
  });

  it('ignores files in packs/ that are not packs', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await store.open();
      const writer = await store.createPackWriter();
      await writer.seal();
      await writeFile(join(root, 'packs', 'README'), 'not a pack');
      await writeFile(join(root, 'packs', `${writer.id}.pack.bak`), 'not a pack');
      assert.deepEqual(await listIds(store), [writer.id]);
      await store.close();
    });
  });

  it('refuses a chunk location whose pack id could escape the packs folder', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await store.open();
      await assert.rejects(store.read({ pack: '../tmp/x', offset: 0, length: 1 }), (err) => isSluiceError(err, 'PFS_CORRUPT'));
      await assert.rejects(store.read({ pack: 'a'.repeat(32), offset: -1, length: 1 }), (err) => isSluiceError(err, 'PFS_CORRUPT'));
      await assert.rejects(store.deletePack('../packs'), (err) => isSluiceError(err, 'INVALID_ARGUMENT'));
      await store.close();
    });
  });

  it('refuses use before open and after close', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await assert.rejects(store.createPackWriter(), (err) => isSluiceError(err, 'INTERNAL'));
      await store.open();
      await store.close();
      await assert.rejects(store.read({ pack: 'a'.repeat(32), offset: 0, length: 1 }), (err) => isSluiceError(err, 'INTERNAL'));
      await assert.rejects(store.open(), (err) => isSluiceError(err, 'INTERNAL'));
    });
  });

  it('drops unsealed packs on close', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await store.open();
      const writer = await store.createPackWriter();
      await writer.append(randomBytes(100));
      await store.close();
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      await assert.rejects(writer.append(randomBytes(1)));
    });
  });

  it('appends 100,000 1 KiB chunks into one pack', async () => {
    await withRoot(async (root) => {
      const store = new FsObjectStore(root);
      await store.open();
      const writer = await store.createPackWriter();
      const chunk = Buffer.alloc(1024);
      for (let i = 0; i < 100_000; i++) {
        chunk.writeUInt32BE(i, 0);
        assert.equal(await writer.append(chunk), i * 1024);
      }
      await writer.seal();
      for (const i of [0, 1, 4095, 50_000, 99_999]) {
        const got = await store.read({ pack: writer.id, offset: i * 1024, length: 1024 });
        assert.equal(got.readUInt32BE(0), i);
      }
      await store.close();
    });
  });
});
