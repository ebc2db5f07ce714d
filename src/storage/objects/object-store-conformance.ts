/**
 * The behaviour every `ObjectStore` implementation must have, as node:test tests.
 *
 * An implementation's test file calls `runObjectStoreConformance(name, make)`; `make` returns a
 * store that is not yet opened, on empty backing storage of its own (a temp folder, a fresh
 * bucket prefix), and a `cleanup` that removes that storage. Each test makes its own store.
 *
 * The suite pins down what the pfs layer relies on: a pack is invisible until sealed, offsets
 * follow append order, aborted and crashed packs leave nothing behind, and a missing or short
 * pack is reported as PFS_CORRUPT naming the pack (never as empty or truncated data).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../errors/index.js';
import type { ObjectStore, PackWriter } from './object-store.js';

export interface ObjectStoreFixture {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

const PACK_ID_RE = /^[0-9a-f]{32}$/;

async function collect(packs: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of packs) out.push(id);
  return out.sort();
}

/** Appends every chunk in order; returns their offsets. */
async function appendAll(writer: PackWriter, chunks: readonly Uint8Array[]): Promise<number[]> {
  const offsets: number[] = [];
  for (const chunk of chunks) offsets.push(await writer.append(chunk));
  return offsets;
}

function expectedOffsets(chunks: readonly Uint8Array[]): number[] {
  let at = 0;
  return chunks.map((c) => {
    const offset = at;
    at += c.length;
    return offset;
  });
}

/** A 1 KiB chunk that says which chunk it is, so a misplaced one is caught. */
function numberedChunk(i: number): Buffer {
  const buf = Buffer.alloc(1024, i & 0xff);
  buf.writeUInt32BE(i, 0);
  buf.writeUInt32BE(i, 1020);
  return buf;
}

function isCorruptNaming(pack: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isSluiceError(err, 'PFS_CORRUPT'), `expected PFS_CORRUPT, got ${String(err)}`);
    assert.ok(err.message.includes(pack), `message ${JSON.stringify(err.message)} does not name pack ${pack}`);
    return true;
  };
}

export function runObjectStoreConformance(name: string, make: () => Promise<ObjectStoreFixture>): void {
  async function withStore(fn: (store: ObjectStore) => Promise<void>): Promise<void> {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      try {
        await store.close();
      } finally {
        await cleanup();
      }
    }
  }

  /** Most tests start from an opened store. */
  async function withOpenStore(fn: (store: ObjectStore) => Promise<void>): Promise<void> {
    await withStore(async (store) => {
      await store.open();
      await fn(store);
    });
  }

  async function sealedPack(store: ObjectStore, chunks: readonly Uint8Array[]): Promise<{ id: string; offsets: number[] }> {
    const writer = await store.createPackWriter();
    const offsets = await appendAll(writer, chunks);
    await writer.seal();
    return { id: writer.id, offsets };
  }

  describe(`ObjectStore conformance: ${name}`, () => {
    it('opens empty storage with nothing to remove and no packs', async () => {
      await withStore(async (store) => {
        assert.deepEqual(await store.open(), { removedTemp: 0 });
        assert.deepEqual(await collect(store.listPacks()), []);
      });
    });

    it('reads back each chunk of a sealed pack', async () => {
      await withOpenStore(async (store) => {
        const chunks = [randomBytes(1), randomBytes(1024), randomBytes(300 * 1024), randomBytes(3 * 1024 * 1024 + 7), Buffer.alloc(0), randomBytes(5)];
        const writer = await store.createPackWriter();
        assert.match(writer.id, PACK_ID_RE);
        assert.equal(writer.size, 0);
        const offsets = await appendAll(writer, chunks);
        assert.deepEqual(offsets, expectedOffsets(chunks));
        const total = chunks.reduce((n, c) => n + c.length, 0);
        assert.equal(writer.size, total);
        await writer.seal();
        assert.equal(writer.size, total);
        assert.deepEqual(await collect(store.listPacks()), [writer.id]);
        for (const [i, chunk] of chunks.entries()) {
          const got = await store.read({ pack: writer.id, offset: offsets[i] as number, length: chunk.length });
          assert.ok(got.equals(chunk), `chunk ${i} differs`);
        }
        // A range across chunk borders reads the concatenation.
        const whole = Buffer.concat(chunks);
        const got = await store.read({ pack: writer.id, offset: 1000, length: 400 * 1024 });
        assert.ok(got.equals(whole.subarray(1000, 1000 + 400 * 1024)));
      });
    });

    it('keeps the offsets and bytes of many small appends', async () => {
      await withOpenStore(async (store) => {
        const count = 20_000;
        const writer = await store.createPackWriter();
        for (let i = 0; i < count; i++) {
          assert.equal(await writer.append(numberedChunk(i)), i * 1024);
        }
        assert.equal(writer.size, count * 1024);
        await writer.seal();
        const all = await store.read({ pack: writer.id, offset: 0, length: count * 1024 });
        for (let i = 0; i < count; i++) {
          if (!all.subarray(i * 1024, (i + 1) * 1024).equals(numberedChunk(i))) assert.fail(`chunk ${i} differs`);
        }
        for (let i = 0; i < count; i += 997) {
          const got = await store.read({ pack: writer.id, offset: i * 1024, length: 1024 });
          assert.ok(got.equals(numberedChunk(i)), `chunk ${i} differs`);
        }
      });
    });

    it('assigns offsets in call order when appends are not awaited', async () => {
      await withOpenStore(async (store) => {
        const chunks = Array.from({ length: 200 }, (_, i) => randomBytes(i % 7 === 0 ? 2 * 1024 * 1024 : 1 + ((i * 7919) % 5000)));
        const writer = await store.createPackWriter();
        const offsets = await Promise.all(chunks.map((c) => writer.append(c)));
        assert.deepEqual(offsets, expectedOffsets(chunks));
        await writer.seal();
        const reads = await Promise.all(chunks.map((c, i) => store.read({ pack: writer.id, offset: offsets[i] as number, length: c.length })));
        for (const [i, got] of reads.entries()) assert.ok(got.equals(chunks[i] as Buffer), `chunk ${i} differs`);
      });
    });

    it('seals an empty pack', async () => {
      await withOpenStore(async (store) => {
        const { id } = await sealedPack(store, []);
        assert.deepEqual(await collect(store.listPacks()), [id]);
        assert.equal((await store.read({ pack: id, offset: 0, length: 0 })).length, 0);
      });
    });

    it('gives each pack its own id', async () => {
      await withOpenStore(async (store) => {
        const writers = await Promise.all(Array.from({ length: 20 }, () => store.createPackWriter()));
        assert.equal(new Set(writers.map((w) => w.id)).size, writers.length);
        await Promise.all(writers.map((w) => w.abort()));
      });
    });

    it('does not list a pack until it is sealed', async () => {
      await withOpenStore(async (store) => {
        const writer = await store.createPackWriter();
        await writer.append(randomBytes(4096));
        assert.deepEqual(await collect(store.listPacks()), []);
        await writer.seal();
        assert.deepEqual(await collect(store.listPacks()), [writer.id]);
      });
    });

    it('leaves nothing behind when a pack is aborted', async () => {
      await withOpenStore(async (store) => {
        const writer = await store.createPackWriter();
        await writer.append(randomBytes(3 * 1024 * 1024));
        await writer.append(randomBytes(10));
        await writer.abort();
        await writer.abort();
        await assert.rejects(writer.append(randomBytes(1)));
        await assert.rejects(writer.seal());
        assert.deepEqual(await collect(store.listPacks()), []);
        assert.deepEqual(await store.open(), { removedTemp: 0 });
        await assert.rejects(store.read({ pack: writer.id, offset: 0, length: 1 }), isCorruptNaming(writer.id));
      });
    });

    it('keeps a sealed pack when abort is called after seal', async () => {
      await withOpenStore(async (store) => {
        const data = randomBytes(2048);
        const writer = await store.createPackWriter();
        await writer.append(data);
        await writer.seal();
        await writer.abort();
        assert.deepEqual(await collect(store.listPacks()), [writer.id]);
        assert.ok((await store.read({ pack: writer.id, offset: 0, length: data.length })).equals(data));
      });
    });

    it('rejects appends to a sealed pack', async () => {
      await withOpenStore(async (store) => {
        const { id } = await sealedPack(store, [randomBytes(100)]);
        const writer = await store.createPackWriter();
        await writer.append(randomBytes(10));
        await writer.seal();
        await assert.rejects(writer.append(randomBytes(10)));
        assert.equal(writer.size, 10);
        assert.deepEqual(await collect(store.listPacks()), [id, writer.id].sort());
      });
    });

    it('removes unsealed packs on open', async () => {
      await withOpenStore(async (store) => {
        const kept = await sealedPack(store, [randomBytes(1000)]);
        const unsealed = await store.createPackWriter();
        await unsealed.append(randomBytes(5000));
        assert.deepEqual(await store.open(), { removedTemp: 1 });
        assert.deepEqual(await collect(store.listPacks()), [kept.id]);
        await unsealed.abort();
        assert.deepEqual(await store.open(), { removedTemp: 0 });
        assert.equal((await store.read({ pack: kept.id, offset: 0, length: 1000 })).length, 1000);
      });
    });

    it('throws PFS_CORRUPT naming the pack when the pack is missing', async () => {
      await withOpenStore(async (store) => {
        const missing = randomBytes(16).toString('hex');
        await assert.rejects(store.read({ pack: missing, offset: 0, length: 10 }), isCorruptNaming(missing));
      });
    });

    it('throws PFS_CORRUPT naming the pack on a read past its end', async () => {
      await withOpenStore(async (store) => {
        const { id } = await sealedPack(store, [randomBytes(100)]);
        await assert.rejects(store.read({ pack: id, offset: 50, length: 51 }), isCorruptNaming(id));
        await assert.rejects(store.read({ pack: id, offset: 100, length: 1 }), isCorruptNaming(id));
        await assert.rejects(store.read({ pack: id, offset: 5000, length: 1 }), isCorruptNaming(id));
        assert.equal((await store.read({ pack: id, offset: 50, length: 50 })).length, 50);
      });
    });

    it('deletes a sealed pack and leaves the others', async () => {
      await withOpenStore(async (store) => {
        const data = randomBytes(4096);
        const a = await sealedPack(store, [data]);
        const b = await sealedPack(store, [data]);
        // Reading first makes sure an implementation that caches handles forgets the deleted pack.
        assert.ok((await store.read({ pack: a.id, offset: 0, length: 4096 })).equals(data));
        await store.deletePack(a.id);
        assert.deepEqual(await collect(store.listPacks()), [b.id]);
        await assert.rejects(store.read({ pack: a.id, offset: 0, length: 4096 }), isCorruptNaming(a.id));
        assert.ok((await store.read({ pack: b.id, offset: 0, length: 4096 })).equals(data));
        // The collector may retry a deletion.
        await store.deletePack(a.id);
        assert.deepEqual(await collect(store.listPacks()), [b.id]);
      });
    });

    it('lists sealed packs with their size and age', async () => {
      await withOpenStore(async (store) => {
        const before = Date.now();
        const a = await sealedPack(store, [randomBytes(1000), randomBytes(24)]);
        const b = await sealedPack(store, []);
        const unsealed = await store.createPackWriter();
        await unsealed.append(randomBytes(10));
        const infos = [];
        for await (const info of store.listPackInfos()) infos.push(info);
        infos.sort((x, y) => x.id.localeCompare(y.id));
        assert.deepEqual(infos.map((i) => [i.id, i.size]), [[a.id, 1024], [b.id, 0]].sort((x, y) => String(x[0]).localeCompare(String(y[0]))));
        // Clocks of a remote store may differ a little from ours, and S3 rounds to the second.
        for (const info of infos) assert.ok(Math.abs(info.modifiedAt - before) < 5 * 60_000, `pack ${info.id} modifiedAt ${info.modifiedAt} is far from now (${before})`);
        await unsealed.abort();
      });
    });

    it('serves many concurrent reads across packs', async () => {
      await withOpenStore(async (store) => {
        const packs = [];
        for (let p = 0; p < 5; p++) {
          const chunks = Array.from({ length: 50 }, () => randomBytes(1 + Math.floor(Math.random() * 8192)));
          const { id, offsets } = await sealedPack(store, chunks);
          packs.push({ id, offsets, chunks });
        }
        const jobs = [];
        for (let k = 0; k < 500; k++) {
          const p = packs[k % packs.length]!;
          const i = (k * 31) % p.chunks.length;
          const chunk = p.chunks[i]!;
          jobs.push(store.read({ pack: p.id, offset: p.offsets[i]!, length: chunk.length }).then((got) => assert.ok(got.equals(chunk))));
        }
        await Promise.all(jobs);
      });
    });
  });
}
