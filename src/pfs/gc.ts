/**
 * The garbage collector for what a crash or an abandoned client leaves behind: expired upload
 * sessions (their staged rows) and sealed packs that no metadata names (a crash between sealing
 * a pack and the transaction that records it). It runs at start-up before the daemon serves.
 * It never touches chunks that the chunk index names; reclaiming the space of deleted repos and
 * commits (live-data GC) is not done yet.
 */
import type { PfsContext } from './context.js';

export interface GcReport {
  expiredUploads: number;
  orphanPacks: number;
}

export async function collectGarbage(ctx: PfsContext): Promise<GcReport> {
  const now = ctx.now();
  const expired = await ctx.db.selectFrom('stages').select('id').where('expires_at', 'is not', null).where('expires_at', '<', now).execute();
  for (const { id } of expired) {
    await ctx.tx(async (trx) => {
      await trx.deleteFrom('staged_ops').where('stage', '=', id).execute();
      await trx.deleteFrom('stages').where('id', '=', id).execute();
    });
  }
  const known = new Set((await ctx.db.selectFrom('packs').select('id').execute()).map((r) => r.id));
  let orphanPacks = 0;
  for await (const id of ctx.objects.listPacks()) {
    if (!known.has(id)) {
      await ctx.objects.deletePack(id);
      orphanPacks++;
    }
  }
  return { expiredUploads: expired.length, orphanPacks };
}
