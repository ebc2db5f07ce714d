/**
 * `subscribe commit <repo>[@<branch>] [--from id] [--new] [--raw]`: prints the header, then one
 * `list commit` row per finished commit as it finishes (existing ones first unless `--new`),
 * until Ctrl-C (which ends it normally, exit 0). Rows are flushed one by one, so columns use
 * fixed minimum widths instead of widths learned from later rows.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { parseAddress } from '../../lib/address.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { COMMIT_HEADER, commitRow } from '../tables.js';

interface Options {
  from?: string;
  new?: boolean;
  raw?: boolean;
}

export function registerCommitSubscribe(program: Command, ctx: CliContext): void {
  subcommand(program, ['subscribe', 'commit'], 'Print commits as they are created (finished).')
    .argument('<repo[@branch]>', 'the repo, and optionally the branch, to follow')
    .option('--from <commit-id>', 'subscribe to all commits since this commit')
    .option('--new', 'subscribe to only new commits created from now on')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string, opts: Options) => {
      if (opts.new === true && opts.from !== undefined) throw new SluiceError('INVALID_ARGUMENT', '--new and --from cannot both be provided');
      const a = parseAddress(arg, 'branch');
      if (a.path !== undefined) throw new SluiceError('INVALID_ARGUMENT', `invalid branch ${JSON.stringify(arg)}: a branch takes no ":path"`);
      const { signal, release } = ctx.interruptible();
      const w = new TabWriter((s) => ctx.out(s), COMMIT_HEADER, {
        blockLines: 0,
        minWidths: [Math.max(a.repo.length, 4) + 1, Math.max(a.ref?.length ?? 6, 6) + 1, 33, 23, 10, 7],
      });
      if (opts.raw !== true) w.flush();
      try {
        const commits = ctx.client().subscribeCommits(a.repo, {
          signal,
          ...(a.ref === undefined ? {} : { branch: a.ref }),
          ...(opts.from === undefined ? {} : { from: opts.from }),
          ...(opts.new === true ? { onlyNew: true } : {}),
        });
        for await (const c of commits) {
          if (opts.raw === true) ctx.out(rawLine(c));
          else {
            w.row(commitRow(c, ctx.now()));
            w.flush();
          }
        }
      } catch (err) {
        if (!signal.aborted) throw err;
      } finally {
        release();
      }
    });
}
