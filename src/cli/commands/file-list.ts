/**
 * `list file <repo>@<ref>[:<path>] [--raw]`: NAME TYPE SIZE of a directory's entries (or of the
 * file itself); directories end with `/`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { FileInfo } from '../../client/index.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawLine, TabWriter } from '../output.js';
import { FILE_HEADER, fileRow } from '../tables.js';

export function registerFileList(program: Command, ctx: CliContext): void {
  subcommand(program, ['list', 'file'], 'Return the files in a directory.')
    .argument('<repo@branch-or-commit[:path]>', 'the directory (default: the root)')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const f = parseFileArg(arg);
      printFiles(ctx, await ctx.client().listFile(f.repo, f.ref, f.path ?? '/'), opts.raw === true);
    });
}

/** NAME TYPE SIZE rows, or one JSON object per line with `--raw` (list file, glob file). */
export function printFiles(ctx: CliContext, files: readonly FileInfo[], raw: boolean): void {
  if (raw) {
    for (const fi of files) ctx.out(rawLine(fi));
    return;
  }
  const w = new TabWriter((s) => ctx.out(s), FILE_HEADER);
  for (const fi of files) w.row(fileRow(fi));
  w.flush();
}
