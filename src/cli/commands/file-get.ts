/**
 * `get file <repo>@<ref>:<path> [-o out] [-r]`: a file's bytes to stdout, or to `-o`. With `-r`
 * the path (a directory, or a file) is fetched as one tar stream and unpacked under the `-o`
 * directory (required, as in pachctl), refusing any entry that would land outside it.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { parseFileArg } from '../args.js';
import { subcommand } from '../command-tree.js';
import { extractTo, writeFileFrom } from '../tar-io.js';

interface Options {
  output?: string;
  recursive?: boolean;
}

export function registerFileGet(program: Command, ctx: CliContext): void {
  subcommand(program, ['get', 'file'], 'Return the contents of a file.')
    .argument('<repo@branch-or-commit:path>', 'the file (or, with -r, the directory)')
    .option('-o, --output <path>', 'where to write the data (default: stdout)')
    .option('-r, --recursive', 'download a directory recursively into the -o directory')
    .action(async (arg: string, opts: Options) => {
      const f = parseFileArg(arg, { requirePath: !opts.recursive });
      const path = f.path ?? '/';
      const client = ctx.client();
      if (opts.recursive === true) {
        if (opts.output === undefined) throw new SluiceError('INVALID_ARGUMENT', 'an output path needs to be specified when using the --recursive flag');
        await extractTo(opts.output, await client.getTar(f.repo, f.ref, path));
        return;
      }
      const body = await client.getFile(f.repo, f.ref, path);
      if (opts.output === undefined) await ctx.pipeToStdout(body);
      else await writeFileFrom(opts.output, body);
    });
}
