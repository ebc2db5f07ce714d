/**
 * `fsck [--raw]`: asks the daemon to verify every finished commit (tree nodes, chunk presence,
 * chunk hashes) and prints each error, then a summary. Exits 1 when anything is wrong.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';
import { humanSize, rawPretty } from '../output.js';

export function registerFsck(program: Command, ctx: CliContext): void {
  subcommand(program, ['fsck'], 'Run a file system consistency check.')
    .option('--raw', 'print the raw JSON report')
    .action(async (opts: { raw?: boolean }) => {
      const r = await ctx.client().fsck();
      if (opts.raw === true) ctx.out(rawPretty(r));
      else {
        for (const e of r.errors) ctx.out(`Error: ${e.repo}@${e.commit}: ${e.message}\n`);
        ctx.out(`checked ${r.commitsChecked} commits, ${r.nodesChecked} tree nodes, ${r.chunksChecked} chunks (${humanSize(r.bytesChecked)})\n`);
        if (r.errors.length === 0) ctx.out('No errors found.\n');
      }
      if (r.errors.length > 0) throw new SluiceError('PFS_CORRUPT', `fsck found ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}`);
    });
}
