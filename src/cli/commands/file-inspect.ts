/**
 * `inspect file <repo>@<ref>:<path> [--raw]`: Path, Type, Size.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { rawPretty } from '../output.js';
import { fileDetail } from '../tables.js';

export function registerFileInspect(program: Command, ctx: CliContext): void {
  subcommand(program, ['inspect', 'file'], 'Return info about a file.')
    .argument('<repo@branch-or-commit:path>', 'the file or directory')
    .option('--raw', 'print raw JSON')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const f = parseFileArg(arg, { requirePath: true });
      const info = await ctx.client().inspectFile(f.repo, f.ref, f.path ?? '/');
      ctx.out(opts.raw === true ? rawPretty(info) : fileDetail(info));
    });
}
