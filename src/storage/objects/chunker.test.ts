import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSluiceError } from '../../errors/index.js';
import { Chunker, chunkBuffer, chunkStream, DEFAULT_CHUNKER_OPTIONS, hashChunk, type ChunkerOptions } from './chunker.js';

const MiB = 1024 * 1024;
const SMALL: ChunkerOptions = { minSize: 256, avgSize: 1024, maxSize: 4096 };
/** Default-option chunk lengths of `randomData(8 MiB, 42)`; checked against a byte-at-a-time FastCDC. */
const GOLDEN_LENGTHS = [1136369, 1052942, 1061171, 1359214, 1099281, 818377, 1186960, 674294];

/** A seeded generator, so a failure reproduces. */
function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomData(size: number, seed: number): Buffer {
  const next = prng(seed);
  const buf = Buffer.alloc(size);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  for (; i + 4 <= size; i += 4) view.setUint32(i, next(), true);
  for (; i < size; i++) buf[i] = next() & 0xff;
  return buf;
}

/** Splits `data` at `count` random points (views, so the pieces start at every alignment). */
function randomSplit(data: Buffer, count: number, seed: number): Buffer[] {
  const next = prng(seed);
  const points = Array.from({ length: count }, () => next() % (data.length + 1)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const p of [...points, data.length]) {
    pieces.push(data.subarray(at, p));
    at = p;
  }
  return pieces;
}

function chunkPieces(pieces: readonly Uint8Array[], options?: ChunkerOptions): Buffer[] {
  const chunker = new Chunker(options);
  const out: Buffer[] = [];
  for (const piece of pieces) out.push(...chunker.push(piece));
  out.push(...chunker.finish());
  return out;
}

const lengths = (chunks: readonly Buffer[]): number[] => chunks.map((c) => c.length);

function assertWithinBounds(chunks: readonly Buffer[], o: Required<ChunkerOptions>): void {
  for (const [i, c] of chunks.entries()) {
    const last = i === chunks.length - 1;
    assert.ok(c.length <= o.maxSize, `chunk ${i} is ${c.length} bytes, above maxSize`);
    assert.ok(last ? c.length > 0 : c.length > o.minSize, `chunk ${i} is ${c.length} bytes, too small`);
  }
}

async function* asStream(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

describe('Chunker', () => {
  const big = randomData(20 * MiB, 1);
  const bigChunks = chunkBuffer(big);

  it('yields no chunks for empty input', async () => {
    const chunker = new Chunker();
    assert.deepEqual(chunker.push(Buffer.alloc(0)), []);
    assert.deepEqual(chunker.finish(), []);
    assert.deepEqual(chunkBuffer(new Uint8Array(0)), []);
    assert.deepEqual(await collect(chunkStream(asStream([]))), []);
  });

  it('yields a 1 KiB input as one chunk', () => {
    const data = randomData(1024, 2);
    const chunks = chunkBuffer(data);
    assert.equal(chunks.length, 1);
    assert.ok(chunks[0]!.equals(data));
  });

  it('concatenates back to the input', () => {
    assert.ok(Buffer.concat(bigChunks).equals(big));
    assert.ok(bigChunks.length > 5, `only ${bigChunks.length} chunks in 20 MiB`);
  });

  it('keeps chunk sizes within bounds', () => {
    assertWithinBounds(bigChunks, DEFAULT_CHUNKER_OPTIONS);
    const small = chunkBuffer(big, SMALL);
    assertWithinBounds(small, { minSize: 256, avgSize: 1024, maxSize: 4096 });
    // Normalized chunking keeps the mean near avgSize.
    const mean = big.length / small.length;
    assert.ok(mean > 1024 * 0.75 && mean < 1024 * 1.5, `mean chunk size ${mean}`);
  });

  it('cuts at the same places however the input is split', () => {
    const expected = lengths(bigChunks);
    for (const seed of [10, 11, 12]) {
      const chunks = chunkPieces(randomSplit(big, 300, seed));
      assert.deepEqual(lengths(chunks), expected, `split seed ${seed}`);
      assert.ok(Buffer.concat(chunks).equals(big));
    }
    // Even pieces of 64 KiB, as a file stream delivers them.
    const even: Buffer[] = [];
    for (let at = 0; at < big.length; at += 64 * 1024) even.push(big.subarray(at, at + 64 * 1024));
    assert.deepEqual(lengths(chunkPieces(even)), expected);
  });

  it('cuts at the same places when fed a few bytes at a time', () => {
    const data = big.subarray(0, 200 * 1024);
    const expected = lengths(chunkBuffer(data, SMALL));
    const next = prng(3);
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; ) {
      const n = 1 + (next() % 13);
      pieces.push(data.subarray(at, at + n));
      at += n;
    }
    assert.deepEqual(lengths(chunkPieces(pieces, SMALL)), expected);
  });

  it('does not depend on the memory alignment of the input', () => {
    const data = big.subarray(0, 4 * MiB);
    const expected = lengths(chunkBuffer(data, SMALL));
    for (const shift of [1, 2, 3]) {
      const copy = Buffer.alloc(data.length + shift).subarray(shift);
      data.copy(copy);
      assert.deepEqual(lengths(chunkBuffer(copy, SMALL)), expected, `shift ${shift}`);
    }
  });

  it('chunks a stream the same as a buffer', async () => {
    const chunks = await collect(chunkStream(asStream(randomSplit(big, 100, 4))));
    assert.deepEqual(lengths(chunks), lengths(bigChunks));
  });

  it('changes only the chunks around an edit', () => {
    const original = bigChunks.map(hashChunk);
    const inserted = Buffer.concat([big.subarray(0, 1000), Buffer.from('sluice!'), big.subarray(1000)]);
    const afterInsert = chunkBuffer(inserted).map(hashChunk);
    const unchanged = original.length - 2;
    assert.deepEqual(afterInsert.slice(-unchanged), original.slice(-unchanged));
    assert.ok(Math.abs(afterInsert.length - original.length) <= 1);

    const middle = 10 * MiB;
    const deleted = Buffer.concat([big.subarray(0, middle), big.subarray(middle + 100)]);
    const afterDelete = chunkBuffer(deleted).map(hashChunk);
    const added = afterDelete.filter((h) => !original.includes(h));
    const lost = original.filter((h) => !afterDelete.includes(h));
    assert.ok(added.length >= 1 && added.length <= 2, `${added.length} chunks added`);
    assert.ok(lost.length >= 1 && lost.length <= 2, `${lost.length} chunks lost`);
  });

  it('cuts at maxSize when the content has no boundary', () => {
    const zeros = Buffer.alloc(10 * MiB);
    const chunks = chunkBuffer(zeros);
    assertWithinBounds(chunks, DEFAULT_CHUNKER_OPTIONS);
    assert.deepEqual(lengths(chunks), [4 * MiB, 4 * MiB, 2 * MiB]);
  });

  it('returns views of the input for chunks inside one buffer', () => {
    for (const c of bigChunks) assert.equal(c.buffer, big.buffer);
  });

  it('keeps the boundaries of a fixed input (they decide deduplication across versions)', () => {
    const data = randomData(8 * MiB, 42);
    assert.deepEqual(lengths(chunkBuffer(data)), GOLDEN_LENGTHS);
  });

  it('refuses invalid options', () => {
    const invalid: ChunkerOptions[] = [
      { avgSize: 1000 * 1000 },
      { minSize: 2 * MiB, avgSize: MiB },
      { maxSize: 512 * 1024 },
      { minSize: 16, avgSize: 256, maxSize: 1024 },
      { minSize: 1.5 },
      { avgSize: 2 ** 30, maxSize: 2 ** 31 },
    ];
    for (const o of invalid) assert.throws(() => new Chunker(o), (err) => isSluiceError(err, 'INVALID_ARGUMENT'), JSON.stringify(o));
  });
});

describe('hashChunk', () => {
  it('names a chunk by its SHA-256 in lowercase hex', () => {
    assert.equal(hashChunk(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hashChunk(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
