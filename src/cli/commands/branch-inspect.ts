/**
 * `inspect branch <repo>@<branch> [--raw]`: Name, Head Commit, Provenance, Trigger.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseBranchArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { branchDetail } from '../tables.js';

export function registerBranchInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'branch'], 'Return info about a branch.')
    .argument('<repo@branch>', 'the branch')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const { repo, branch } = parseBranchArg(arg);
      const info = await ctx.client().inspectBranch(repo, branch);
      ctx.out(opts.raw === true ? rawPretty(info) : branchDetail(info));
    });
}
