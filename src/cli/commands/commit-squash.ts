/**
 * `squash commit <repo>@<branch-or-commit>`: folds a finished commit into its child, removing it
 * from history (its child keeps all files).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerCommitSquash(program: Command, ctx: CliContext): void {
  subcommand(program, ['squash', 'commit'], 'Squash a commit into its child.')
    .argument('<repo@branch-or-commit>', 'the commit')
    .action(async (arg: string) => {
      const { repo, ref } = parseCommitArg(arg);
      await ctx.client().squashCommit(repo, ref);
    });
}
