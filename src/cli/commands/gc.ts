/**
 * `gc [--raw]`: asks the daemon to collect garbage (chunks and packs that no commit, open commit,
 * upload or datum output names: deleted repos, squashed commits, aborted uploads) and prints what
 * it reclaimed. Safe while others write: see docs/design/storage.md, "Garbage collection".
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { humanSize, rawPretty } from '../output.js';

export function registerGc(program: Command, ctx: CliContext): void {
  subcommand(program, ['gc'], 'Reclaim storage that no commit, upload or datum output names.')
    .option('--raw', 'print the raw JSON report')
    .action(async (opts: { raw?: boolean }) => {
      const r = await ctx.client().gc();
      if (opts.raw === true) {
        ctx.out(rawPretty(r));
        return;
      }
      ctx.out(`freed ${humanSize(r.bytesFreed)}: ${r.packsDeleted + r.orphanPacks} packs (${r.orphanPacks} unrecorded), ${r.chunksDeleted} chunks; ${r.chunksLive} chunks live`);
      ctx.out(`${r.expiredUploads > 0 ? `; ${r.expiredUploads} expired uploads dropped` : ''}${r.youngPacks > 0 ? `; ${r.youngPacks} recent unrecorded packs kept` : ''} (${(r.durationMs / 1000).toFixed(1)} s)\n`);
    });
}
