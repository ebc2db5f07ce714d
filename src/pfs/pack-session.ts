/**
 * A PackSession collects the chunks of one request (one file, one tar of 100,000 files) into a
 * single pack, so a whole request costs one fsync. Chunks already in the store are not written
 * again: hashes are checked against the chunk index in batches (one query per few hundred small
 * chunks), and a chunk repeated within the request is written once.
 *
 * Order of durability: `seal()` syncs the pack; only then does the caller's transaction insert
 * the pack row and chunk rows (`recordTx`) together with whatever names those chunks. A crash in
 * between leaves an unnamed pack, which the garbage collector removes.
 *
 * With the collector running concurrently (src/pfs/gc.ts): a chunk the collector has condemned
 * (`chunks.condemned` set) counts as absent, so it is written again; recording a chunk clears its
 * mark. A chunk this session did not write because the index had it is re-checked in the
 * recording transaction (and its mark cleared there; on PostgreSQL under a share lock): if the
 * collector deleted it meanwhile, the request fails as UNAVAILABLE (retryable) and names nothing
 * missing. The session is registered in `ctx.inFlight` from its start until `release()`, so the
 * collector leaves its pack alone while it is sealed but not yet recorded.
 */
import type { ChunkRef, PackWriter } from '../storage/objects/index.js';
import { chunkStream, hashChunk } from '../storage/objects/index.js';
import { SluiceError } from '../errors/index.js';
import type { Exec, PfsContext } from './context.js';
import type { InFlightToken } from './in-flight.js';

const BATCH_CHUNKS = 512;
const BATCH_BYTES = 16 * 1024 * 1024;

interface Pending {
  hash: string;
  data: Uint8Array;
}

export class PackSession {
  private writer: PackWriter | undefined;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Chunks written to this pack: hash -> [offset, length]. */
  private readonly written = new Map<string, [number, number]>();
  /** Hashes queued or known to exist already, so repeats skip the index query. */
  private readonly seen = new Set<string>();
  /** Chunks the index already had, which this session names without writing them. */
  private readonly reused = new Set<string>();
  private sealed = false;
  private readonly token: InFlightToken;
  bytesIn = 0;
  /** Chunks handed in (repeats included), for the dedup count. */
  private chunksIn = 0;

  constructor(private readonly ctx: PfsContext) {
    this.token = ctx.inFlight.begin();
  }

  /** Call once the transaction that names the chunks has committed (or the request failed). */
  release(): void {
    this.ctx.inFlight.end(this.token);
  }

  /** Chunks a stream and queues its chunks; resolves to the file's chunk list. */
  async addStream(body: AsyncIterable<Uint8Array>): Promise<ChunkRef[]> {
    const refs: ChunkRef[] = [];
    for await (const chunk of chunkStream(body)) refs.push(await this.addChunk(chunk));
    return refs;
  }

  async addChunk(data: Uint8Array): Promise<ChunkRef> {
    const hash = hashChunk(data);
    this.bytesIn += data.length;
    this.chunksIn++;
    if (!this.seen.has(hash)) {
      this.seen.add(hash);
      // Copy: the chunker may hand out views of a buffer it reuses.
      this.pending.push({ hash, data: Buffer.from(data) });
      this.pendingBytes += data.length;
      if (this.pending.length >= BATCH_CHUNKS || this.pendingBytes >= BATCH_BYTES) await this.flush();
    }
    return { hash, size: data.length };
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const known = new Set<string>();
    for (let i = 0; i < batch.length; i += 500) {
      const hashes = batch.slice(i, i + 500).map((p) => p.hash);
      const rows = await this.ctx.db.selectFrom('chunks').select('hash').where('hash', 'in', hashes).where('condemned', 'is', null).execute();
      for (const r of rows) known.add(r.hash);
    }
    for (const p of batch) {
      if (known.has(p.hash)) {
        this.reused.add(p.hash);
        continue;
      }
      if (this.writer === undefined) {
        this.writer = await this.ctx.objects.createPackWriter();
        this.token.pack = this.writer.id;
      }
      const offset = await this.writer.append(p.data);
      this.written.set(p.hash, [offset, p.data.length]);
    }
  }

  /** Writes what is queued and makes the pack durable. */
  async seal(): Promise<void> {
    await this.flush();
    if (this.writer !== undefined && !this.sealed) await this.writer.seal();
    this.sealed = true;
  }

  /** Inserts the pack and its chunk rows; call inside the transaction that names the chunks. */
  async recordTx(trx: Exec): Promise<void> {
    await this.recheckReused(trx);
    let storedBytes = 0;
    for (const [, [, length]] of this.written) storedBytes += length;
    const counts = { stored: this.written.size, storedBytes, deduplicated: this.chunksIn - this.written.size, deduplicatedBytes: this.bytesIn - storedBytes };
    if (counts.stored + counts.deduplicated > 0) this.ctx.afterCommit(trx, () => this.ctx.meter.chunksRecorded(counts));
    if (this.writer === undefined || this.written.size === 0) return;
    const pack = this.writer.id;
    await trx.insertInto('packs').values({ id: pack, size_bytes: this.writer.size, created_at: this.ctx.now() }).onConflict((oc) => oc.doNothing()).execute();
    const rows = [...this.written].map(([hash, [offset, length]]) => ({ hash, pack, offset, length }));
    for (let i = 0; i < rows.length; i += 200) {
      // A chunk recorded meanwhile keeps its location (readers may have cached it); a condemned
      // one is rescued: it is named again.
      await trx.insertInto('chunks').values(rows.slice(i, i + 200))
        .onConflict((oc) => oc.column('hash').doUpdateSet({ condemned: null }).where('chunks.condemned', 'is not', null))
        .execute();
    }
  }

  /** Chunks named without being written must still be in the index; their condemned marks go. */
  private async recheckReused(trx: Exec): Promise<void> {
    const hashes = [...this.reused].filter((h) => !this.written.has(h));
    for (let i = 0; i < hashes.length; i += 500) {
      const batch = hashes.slice(i, i + 500);
      let q = trx.selectFrom('chunks').select('hash').where('hash', 'in', batch);
      if (this.ctx.meta.dialect === 'postgres') q = q.forShare();
      const present = new Set((await q.execute()).map((r) => r.hash));
      const gone = batch.filter((h) => !present.has(h));
      if (gone.length > 0) {
        throw new SluiceError('UNAVAILABLE', `chunk ${gone[0]} was garbage-collected while this upload was in flight (${gone.length} chunk${gone.length === 1 ? '' : 's'}); nothing was written: retry the upload`, {
          details: { chunks: gone.slice(0, 10) },
        });
      }
      await trx.updateTable('chunks').set({ condemned: null }).where('hash', 'in', batch).where('condemned', 'is not', null).execute();
    }
  }

  async abort(): Promise<void> {
    this.pending = [];
    try {
      if (this.writer !== undefined && !this.sealed) await this.writer.abort();
    } finally {
      this.release();
    }
  }
}
