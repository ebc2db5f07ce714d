/**
 * `start commit <repo>@<branch> [-p parent] [-m description]`: opens a commit on the branch
 * (creating the branch if needed) and prints its id. Files put to the branch then join this
 * commit until `finish commit`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';

interface Options {
  parent?: string;
  message?: string;
  description?: string;
}

export function registerCommitStart(program: Command, ctx: CliContext): void {
  subcommand(program, ['start', 'commit'], 'Start a new commit.')
    .argument('<repo@branch>', 'the branch to start the commit on')
    .option('-p, --parent <ref>', 'the parent of the new commit (default: the branch head)')
    .option('-m, --message <text>', "a description of this commit's contents")
    .option('--description <text>', 'synonym for --message')
    .action(async (arg: string, opts: Options) => {
      const { repo, ref } = parseCommitArg(arg);
      const description = opts.message ?? opts.description;
      const info = await ctx.client().startCommit(repo, ref, {
        ...(opts.parent === undefined ? {} : { parent: opts.parent }),
        ...(description === undefined ? {} : { description }),
      });
      ctx.out(`${info.id}\n`);
    });
}
