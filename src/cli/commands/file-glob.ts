/**
 * `glob file "<repo>@<ref>:<pattern>" [--raw]`: NAME TYPE SIZE of the files and directories
 * matching the pattern.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { printFiles } from './file-list.js';

export function registerFileGlob(program: Command, ctx: CliContext): void {
  subcommand(program, ['glob', 'file'], 'Return files that match a glob pattern in a commit.')
    .argument('<repo@branch-or-commit:pattern>', 'the pattern (quote it so the shell leaves it alone)')
    .option('--raw', 'print raw JSON, one object per line')
    .action(async (arg: string, opts: { raw?: boolean }) => {
      const f = parseFileArg(arg, { requirePath: true });
      printFiles(ctx, await ctx.client().globFile(f.repo, f.ref, f.path ?? '/'), opts.raw === true);
    });
}
