/**
 * `inspect commit <repo>@<branch-or-commit> [--raw]`: Commit, Original Branch, Description,
 * Parent, Started, Finished, Size (and Provenance when there is some).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { commitDetail } from '../tables.js';

export function registerCommitInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'commit'], 'Return info about a commit.')
    .argument('<repo@branch-or-commit>', 'the commit')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      // pachctl's hint for a bare commit-set id.
      if (/^[0-9a-f]{32}$/.test(arg)) throw new SluiceError('INVALID_ARGUMENT', `Use "list commit ${arg}" to see commits with a given ID across different repos`);
      const { repo, ref } = parseCommitArg(arg);
      const info = await ctx.client().inspectCommit(repo, ref);
      ctx.out(opts.raw === true ? rawPretty(info) : commitDetail(info, ctx.now()));
    });
}
