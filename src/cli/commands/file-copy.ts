/**
 * `copy file <src-repo>@<ref>:<path> <dst-repo>@<ref>:<path> [-a]`: copies a file or directory
 * by reference (no data is copied) as one commit on the destination.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerFileCopy(program: Command, ctx: CliContext): void {
  subcommand(program, ['copy', 'file'], 'Copy files between pfs paths.')
    .argument('<src-repo@ref:path>', 'what to copy')
    .argument('<dst-repo@ref:path>', 'where to put it')
    .option('-a, --append', 'append to the existing content of the destination file')
    .action(async (srcArg: string, dstArg: string, opts: { append?: boolean }) => {
      const src = parseFileArg(srcArg, { requirePath: true });
      const dst = parseFileArg(dstArg, { requirePath: true });
      const upload = await ctx.client().createUpload();
      try {
        await upload.copyFile({ repo: src.repo, ref: src.ref, path: src.path ?? '/' }, dst.path ?? '/', opts.append === true ? { append: true } : {});
        await upload.commit(dst.repo, dst.ref);
      } catch (err) {
        await upload.abort().catch(() => undefined);
        throw err;
      }
    });
}
