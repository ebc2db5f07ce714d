/**
 * `delete commit <repo>@<branch-or-commit>`: removes a commit that nothing depends on (an open
 * commit, or a branch head); branches pointing at it move to its parent.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerCommitDelete(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'commit'], 'Delete a commit (an open commit or a branch head).')
    .argument('<repo@branch-or-commit>', 'the commit')
    .action(async (arg: string) => {
      const { repo, ref } = parseCommitArg(arg);
      await ctx.client().deleteCommit(repo, ref);
    });
}
