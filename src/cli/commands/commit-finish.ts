/**
 * `finish commit <repo>@<branch-or-commit> [-m description]`: finishes an open commit. Finishing
 * a finished commit is an error (PFS_COMMIT_FINISHED).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerCommitFinish(program: Command, ctx: CliContext): void {
  subcommand(program, ['finish', 'commit'], 'Finish a started commit.')
    .argument('<repo@branch-or-commit>', 'the commit to finish')
    .option('-m, --message <text>', "a description of this commit's contents (overwrites any existing one)")
    .option('--description <text>', 'synonym for --message')
    .action(async (arg: string, opts: { message?: string; description?: string }) => {
      const { repo, ref } = parseCommitArg(arg);
      const description = opts.message ?? opts.description;
      await ctx.client().finishCommit(repo, ref, description === undefined ? {} : { description });
    });
}
