/**
 * `delete branch <repo>@<branch> [-f]`: removes the branch, leaving its commits. The daemon
 * refuses a branch others depend on unless `--force`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseBranchArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerBranchDelete(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'branch'], 'Delete a branch, while leaving the commits intact.')
    .argument('<repo@branch>', 'the branch')
    .option('-f, --force', 'remove the branch regardless of errors; use with care')
    .action(async (arg: string, opts: { force?: boolean }) => {
      const { repo, branch } = parseBranchArg(arg);
      await ctx.client().deleteBranch(repo, branch, { force: opts.force === true });
    });
}
