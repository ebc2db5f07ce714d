/**
 * The garbage collector: reclaims chunks and packs that nothing names any more (deleted repos
 * and commits, squashed commits, aborted and expired uploads, deleted pipelines' datum outputs),
 * and packs left by a crash between sealing and recording. It runs at start-up, on `sluice gc`
 * (POST /gc) and, if asked, periodically in the daemon; it runs beside live traffic.
 *
 * What names a chunk (the roots): the tree of every commit (finished; an open commit's base is its
 * parent, also a commit), the staged operations of open commits and uploads, and the datum
 * outputs kept for incremental jobs. Nothing else does, except uploads in flight, handled below.
 *
 * One run:
 *  1. drops expired uploads (their staged rows);
 *  2. mark 1: a snapshot of the roots (one read transaction; repeatable read on PostgreSQL), and
 *     every chunk reachable from them (tree nodes are immutable, so they are walked outside it);
 *  3. condemns every chunk of the index that mark 1 did not reach: `chunks.condemned = epoch`.
 *     From then on a new upload treats the chunk as absent (writes it again), and any upload that
 *     names it clears the mark in the transaction that names it (PackSession);
 *  4. waits, bounded, for uploads of this process that began before step 3 (they may count on a
 *     chunk they found before it was condemned; correctness does not depend on this wait);
 *  5. mark 2: a second snapshot of the roots, taken after step 3 committed;
 *  6. deletes the chunk rows still condemned by this epoch that mark 2 does not reach, and clears
 *     the mark of those it does; a chunk named after mark 2 was named by an upload that cleared
 *     the mark first (PostgreSQL re-checks `condemned` of a row a concurrent transaction
 *     changed), so it survives;
 *  7. deletes the registered packs that no chunk row points to: the pack row first (guarded by
 *     NOT EXISTS in the same statement), then the object;
 *  8. deletes sealed packs that no pack row names and that are older than the grace period and
 *     not being recorded by this process (a crash between seal and record; a pack row deleted in
 *     step 7 by a run killed before it deleted the object).
 *
 * kill -9 at any line leaves a state the next run finishes: condemned marks of a dead run are
 * harmless (the next run re-marks with its own epoch; uploads clear them), a pack row is deleted
 * before its object (an object without a row is step 8's), and no object is deleted while a row
 * that a live chunk row points to names it. Tree nodes (in the metadata store) are not collected
 * yet. A pack is reclaimed only when every chunk in it is garbage (no compaction).
 */
import { sql } from 'kysely';
import type { GcReport } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import type { PfsContext, Exec } from './context.js';
import { isFileValue } from './entries.js';
import { decodeNode, walkNodes } from './tree/index.js';

export interface GcOptions {
  /** Unrecorded packs younger than this are left alone (another daemon may be recording one). Default 15 min. */
  graceMs?: number;
  /** How long step 4 waits for this process's older uploads. Default 30 s. */
  drainMs?: number;
  signal?: AbortSignal;
  /** The start-up run: expired uploads and unrecorded packs are cleaned as always. */
  startup?: boolean;
  /**
   * Called after condemning (step 3) and after mark 2 (step 5): lets tests interleave an upload
   * at the points where races would be.
   */
  onPhase?: (phase: 'condemned' | 'marked') => Promise<void>;
}

export type { GcReport };

export const DEFAULT_GC_GRACE_MS = 15 * 60 * 1000;
const BATCH = 500;
/**
 * Chunks are looked up in the mark by a prefix of their hash: a collision only keeps a garbage
 * chunk (never deletes a live one), and the set takes about half the memory of full hashes.
 */
const KEY_CHARS = 24;
const key = (hash: string): string => hash.slice(0, KEY_CHARS);

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new SluiceError('UNAVAILABLE', 'garbage collection was stopped (the daemon is closing)');
}

/** Runs one collection; callers serialise runs (GarbageCollector). */
export async function collectGarbage(ctx: PfsContext, opts: GcOptions = {}): Promise<GcReport> {
  const started = Date.now();
  const graceMs = opts.graceMs ?? DEFAULT_GC_GRACE_MS;
  const signal = opts.signal;
  const report: GcReport = {
    expiredUploads: 0, orphanPacks: 0, youngPacks: 0, chunksDeleted: 0, packsDeleted: 0, bytesFreed: 0, chunksLive: 0, chunksRescued: 0, durationMs: 0,
  };

  // 1. expired uploads
  const now = ctx.now();
  const expired = await ctx.db.selectFrom('stages').select('id').where('expires_at', 'is not', null).where('expires_at', '<', now).execute();
  for (const { id } of expired) {
    await ctx.tx(async (trx) => {
      await trx.deleteFrom('staged_ops').where('stage', '=', id).execute();
      await trx.deleteFrom('stages').where('id', '=', id).execute();
    });
  }
  report.expiredUploads = expired.length;
  checkAbort(signal);

  // At start-up only what a crash leaves (steps 1 and 8): a full mark walks every tree.
  if (opts.startup !== true) await collectChunks(ctx, report, opts);
  await collectUnrecordedPacks(ctx, report, graceMs, signal);
  report.durationMs = Date.now() - started;
  return report;
}

/** Steps 2-7. */
async function collectChunks(ctx: PfsContext, report: GcReport, opts: GcOptions): Promise<void> {
  const signal = opts.signal;
  // 2. mark 1, 3. condemn
  const mark1 = await markReachable(ctx, signal);
  const candidates: string[] = [];
  let after = '';
  let total = 0;
  for (;;) {
    const page = await ctx.db.selectFrom('chunks').select('hash').where('hash', '>', after).orderBy('hash').limit(5000).execute();
    if (page.length === 0) break;
    for (const { hash } of page) if (!mark1.has(key(hash))) candidates.push(hash);
    total += page.length;
    after = page[page.length - 1]!.hash;
    checkAbort(signal);
  }
  mark1.clear();
  if (candidates.length > 0) {
    const epoch = await nextEpoch(ctx);
    for (let i = 0; i < candidates.length; i += BATCH) {
      await ctx.db.updateTable('chunks').set({ condemned: epoch }).where('hash', 'in', candidates.slice(i, i + BATCH)).execute();
    }
    await opts.onPhase?.('condemned');
    // 4. uploads of this process that began before the marks were set
    await ctx.inFlight.drained(ctx.inFlight.mark(), opts.drainMs ?? 30_000, signal);
    checkAbort(signal);
    // 5. mark 2, 6. delete
    const mark2 = await markReachable(ctx, signal);
    await opts.onPhase?.('marked');
    for (let i = 0; i < candidates.length; i += BATCH) {
      const batch = candidates.slice(i, i + BATCH);
      const doomed = batch.filter((h) => !mark2.has(key(h)));
      const saved = batch.filter((h) => mark2.has(key(h)));
      await ctx.tx(async (trx) => {
        if (doomed.length > 0) {
          const res = await trx.deleteFrom('chunks').where('hash', 'in', doomed).where('condemned', '=', epoch).executeTakeFirst();
          report.chunksDeleted += Number(res.numDeletedRows);
        }
        if (saved.length > 0) {
          await trx.updateTable('chunks').set({ condemned: null }).where('hash', 'in', saved).where('condemned', '=', epoch).execute();
          report.chunksRescued += saved.length;
        }
      });
      // A later upload of the same bytes gets a new location: forget the old one.
      for (const h of doomed) ctx.chunkCache.delete(h);
      checkAbort(signal);
    }
  }
  report.chunksLive = total - report.chunksDeleted;

  // 7. registered packs with no chunk left
  const dead = await ctx.db.selectFrom('packs').select(['id', 'size_bytes'])
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('chunks').select('chunks.hash').whereRef('chunks.pack', '=', 'packs.id'))))
    .execute();
  for (const p of dead) {
    const res = await ctx.db.deleteFrom('packs').where('id', '=', p.id)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('chunks').select('chunks.hash').whereRef('chunks.pack', '=', 'packs.id'))))
      .executeTakeFirst();
    if (Number(res.numDeletedRows) !== 1) continue;
    await ctx.objects.deletePack(p.id);
    report.packsDeleted++;
    report.bytesFreed += p.size_bytes;
    checkAbort(signal);
  }
}

/** Step 8. */
async function collectUnrecordedPacks(ctx: PfsContext, report: GcReport, graceMs: number, signal: AbortSignal | undefined): Promise<void> {
  const listed = [];
  for await (const info of ctx.objects.listPackInfos()) listed.push(info);
  const recorded = new Set<string>();
  for (let i = 0; i < listed.length; i += BATCH) {
    const rows = await ctx.db.selectFrom('packs').select('id').where('id', 'in', listed.slice(i, i + BATCH).map((p) => p.id)).execute();
    for (const r of rows) recorded.add(r.id);
  }
  const writing = ctx.inFlight.packIds();
  const cutoff = Date.now() - graceMs;
  for (const p of listed) {
    if (recorded.has(p.id)) continue;
    if (writing.has(p.id) || p.modifiedAt > cutoff) {
      report.youngPacks++;
      continue;
    }
    await ctx.objects.deletePack(p.id);
    report.orphanPacks++;
    report.bytesFreed += p.size;
    checkAbort(signal);
  }
}

async function nextEpoch(ctx: PfsContext): Promise<number> {
  return ctx.tx(async (trx) => {
    await sql`insert into counters (name, value) values ('gc_epoch', 0) on conflict (name) do nothing`.execute(trx);
    await trx.updateTable('counters').set((eb) => ({ value: eb('value', '+', 1) })).where('name', '=', 'gc_epoch').execute();
    const row = await trx.selectFrom('counters').select('value').where('name', '=', 'gc_epoch').executeTakeFirstOrThrow();
    return Number(row.value);
  });
}

interface Roots {
  trees: string[];
  chunkLists: string[];
}

/** The roots, read in one snapshot: commit trees, staged operations, datum outputs. */
async function readRoots(ctx: PfsContext): Promise<Roots> {
  const read = async (trx: Exec): Promise<Roots> => {
    const trees = (await trx.selectFrom('commits').select('root').distinct().where('root', 'is not', null).execute()).map((r) => r.root as string);
    const staged = (await trx.selectFrom('staged_ops').select('value').where('value', 'is not', null).execute()).map((r) => r.value as string);
    const outputs = (await trx.selectFrom('datum_outputs').select('files').execute()).map((r) => r.files);
    return { trees, chunkLists: [...staged, ...outputs] };
  };
  const tx = ctx.db.transaction();
  return ctx.meta.dialect === 'postgres' ? tx.setIsolationLevel('repeatable read').execute(read) : tx.execute(read);
}

/** Every chunk reachable from a snapshot of the roots (keys: hash prefixes). */
async function markReachable(ctx: PfsContext, signal: AbortSignal | undefined): Promise<Set<string>> {
  const roots = await readRoots(ctx);
  const live = new Set<string>();
  for (const json of roots.chunkLists) addChunksOfJson(json, live);
  roots.chunkLists = [];
  const seen = new Set<string>();
  const reader = ctx.nodeReader(ctx.db);
  for (const root of roots.trees) {
    checkAbort(signal);
    await walkNodes(reader, root, (hash, bytes) => {
      if (seen.has(hash)) return false;
      seen.add(hash);
      const node = decodeNode(bytes, hash);
      if (node.kind === 'leaf') {
        for (const v of node.values) {
          if (!isFileValue(v)) continue;
          for (const [h] of v.c) live.add(key(h));
        }
      }
      return true;
    });
  }
  return live;
}

/**
 * A staged value is `{s, c: [[hash, size], ...]}`; datum outputs are `[[path, {s, c}], ...]`.
 * Rather than trust either shape, every 64-hex string in the JSON is taken as a chunk name: a
 * path that happens to look like a hash only keeps garbage.
 */
function addChunksOfJson(json: string, live: Set<string>): void {
  const re = /"([0-9a-f]{64})"/g;
  for (let m = re.exec(json); m !== null; m = re.exec(json)) live.add(key(m[1]!));
}

/**
 * Serialises collections in one process (start-up, `sluice gc`, the periodic run): a request that
 * arrives during a run waits for it and then gets a run of its own, so its report covers what was
 * deleted before it asked.
 */
export class GarbageCollector {
  private running: Promise<GcReport> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly stop = new AbortController();
  /** The last periodic run's outcome (the daemon has nowhere else to report it). */
  lastPeriodic: { at: number; report?: GcReport; error?: string } | undefined;

  constructor(private readonly ctx: PfsContext, private readonly defaults: GcOptions = {}) {}

  async run(opts: GcOptions = {}): Promise<GcReport> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    const run = collectGarbage(this.ctx, { ...this.defaults, ...opts, signal: this.stop.signal });
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  /** Runs every `intervalMs` (nothing when undefined or 0); the returned function stops it and waits for a run in progress. */
  schedule(intervalMs: number | undefined): () => Promise<void> {
    if (intervalMs !== undefined && intervalMs > 0) {
      const tick = (): void => {
        this.timer = setTimeout(() => {
          this.run().then(
            (report) => {
              this.lastPeriodic = { at: Date.now(), report };
            },
            (err: unknown) => {
              this.lastPeriodic = { at: Date.now(), error: err instanceof Error ? err.message : String(err) };
            },
          ).finally(() => {
            if (!this.stop.signal.aborted) tick();
          });
        }, intervalMs);
        this.timer.unref();
      };
      tick();
    }
    return async () => {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.stop.abort();
      await this.running?.catch(() => undefined);
    };
  }
}
