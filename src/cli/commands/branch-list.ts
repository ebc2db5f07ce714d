/**
 * `list branch <repo> [--raw]`: BRANCH HEAD TRIGGER (`-` for no head / no trigger).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseRepoArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { BRANCH_HEADER, branchRow } from '../tables.js';

export function registerBranchList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'branch'], 'Return all branches on a repo.')
    .argument('<repo>', 'name of the repo')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const branches = await ctx.client().listBranches(parseRepoArg(arg));
      if (opts.raw === true) {
        for (const b of branches) ctx.out(rawLine(b));
        return;
      }
      const w = new TabWriter((s) => ctx.out(s), BRANCH_HEADER);
      for (const b of branches) w.row(branchRow(b));
      w.flush();
    });
}
