/**
 * `diff file <new-repo>@<ref>[:<path>] [<old-repo>@<ref>[:<path>]] [--raw]`: the files that
 * differ between two commits of a repo (the new commit's parent by default), one per line:
 * `+ /path` added, `- /path` deleted, `~ /path` modified, in path order. (pachctl runs
 * `git diff` on the contents; `--name-only` prints an OP NAME TYPE SIZE table. Sluice prints
 * names only, in this compact form; `--raw` gives the SDK's FileDiff objects.)
 *
 * The SDK diffs within one repo and under one path, so the old side must name the same repo
 * and (if any) the same path.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError, type FileDiff } from '../../client/index.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawLine } from '../output.js';

const MARK: Record<FileDiff['change'], string> = { added: '+', deleted: '-', modified: '~' };

export function registerFileDiff(program: Command, ctx: CliContext): void {
  subcommand(program, ['diff', 'file'], 'Return the files that differ between two commits.')
    .argument('<new-repo@ref[:path]>', 'the new side')
    .argument('[old-repo@ref[:path]]', "the old side (default: the new commit's parent)")
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (newArg: string, oldArg: string | undefined, opts: { raw?: boolean }) => {
      const n = parseFileArg(newArg);
      const o = oldArg === undefined ? undefined : parseFileArg(oldArg);
      if (o !== undefined && o.repo !== n.repo) throw new SluiceError('INVALID_ARGUMENT', `diff file compares two commits of one repo; got ${n.repo} and ${o.repo}`);
      if (o?.path !== undefined && o.path !== n.path) throw new SluiceError('INVALID_ARGUMENT', 'diff file compares the same path on both sides; give the path on the new side only');
      const diffs = await ctx.client().diffFile(n.repo, n.ref, {
        ...(o === undefined ? {} : { old: o.ref }),
        ...(n.path === undefined ? {} : { path: n.path }),
      });
      for (const d of diffs) ctx.out(opts.raw === true ? rawLine(d) : `${MARK[d.change]} ${d.path}\n`);
    });
}
