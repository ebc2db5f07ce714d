/**
 * `wait commit <repo>@<branch-or-commit> [--raw] [--no-progress]`: blocks until the commit is
 * finished, then prints its inspect block. Ctrl-C stops waiting (exit 130). While it waits, a
 * spinner with the time elapsed is drawn on stderr when stderr is a terminal (and erased before
 * the block is printed); nothing when it is not.
 */
import type { Command } from 'commander';
import { InterruptedError, type CliContext } from '../context.js';
import { parseCommitArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { commitDetail } from '../tables.js';
import { isTerminal, Spinner } from '../progress.js';

export function registerCommitWait(program: Command, ctx: CliContext): void {
  subcommand(program, ['wait', 'commit'], 'Wait for the specified commit to finish and return it.')
    .argument('<repo@branch-or-commit>', 'the commit')
    .option('--raw', 'print raw JSON')
    .option('--no-progress', 'draw no spinner (none is drawn anyway when stderr is not a terminal)')
    .action(async (arg: string, opts: { raw?: boolean; progress: boolean }) => {
      const { repo, ref } = parseCommitArg(arg);
      const { signal, release } = ctx.interruptible();
      const spinner = opts.progress && isTerminal(ctx.io.stderr) ? new Spinner(ctx.io.stderr, `waiting for commit ${repo}@${ref}`).start() : undefined;
      try {
        const info = await ctx.client().waitCommit(repo, ref, { signal }).finally(() => spinner?.stop());
        ctx.out(opts.raw === true ? rawPretty(info) : commitDetail(info, ctx.now()));
      } catch (err) {
        if (signal.aborted) throw new InterruptedError();
        throw err;
      } finally {
        release();
      }
    });
}
