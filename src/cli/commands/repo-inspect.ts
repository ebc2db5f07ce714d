/**
 * `inspect repo <repo> [--raw]`: Name, Description, Created, Size of HEAD on master.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseRepoArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { repoDetail } from '../tables.js';

export function registerRepoInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'repo'], 'Return info about a repo.')
    .argument('<repo>', 'name of the repo')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const info = await ctx.client().inspectRepo(parseRepoArg(arg));
      ctx.out(opts.raw === true ? rawPretty(info) : repoDetail(info, ctx.now()));
    });
}
