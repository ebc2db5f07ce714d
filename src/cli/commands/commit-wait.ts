/**
 * `wait commit <repo>@<branch-or-commit> [--raw]`: blocks until the commit is finished, then
 * prints its inspect block. Ctrl-C stops waiting (exit 130).
 */
import type { Command } from 'commander';
import { InterruptedError, type CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { commitDetail } from '../tables.js';

export function registerCommitWait(program: Command, ctx: CliContext): void {
  subcommand(program, ['wait', 'commit'], 'Wait for the specified commit to finish and return it.')
    .argument('<repo@branch-or-commit>', 'the commit')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const { repo, ref } = parseCommitArg(arg);
      const { signal, release } = ctx.interruptible();
      try {
        const info = await ctx.client().waitCommit(repo, ref, { signal });
        ctx.out(opts.raw === true ? rawPretty(info) : commitDetail(info, ctx.now()));
      } catch (err) {
        if (signal.aborted) throw new InterruptedError();
        throw err;
      } finally {
        release();
      }
    });
}
