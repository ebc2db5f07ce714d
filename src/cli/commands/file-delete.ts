/**
 * `delete file <repo>@<ref>:<path>`: removes a file or a directory (with everything under it)
 * as one commit (or from the open commit at `ref`), through an upload session.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerFileDelete(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'file'], 'Delete a file.')
    .argument('<repo@branch-or-commit:path>', 'the file or directory')
    .option('-r, --recursive', 'accepted for pachctl compatibility: directories are always deleted whole')
    .action(async (arg: string) => {
      const f = parseFileArg(arg, { requirePath: true });
      const upload = await ctx.client().createUpload();
      try {
        await upload.deleteFile(f.path ?? '/');
        await upload.commit(f.repo, f.ref);
      } catch (err) {
        await upload.abort().catch(() => undefined);
        throw err;
      }
    });
}
