/**
 * `version [--client-only] [--raw]`: the client's and the daemon's versions, as pachctl prints
 * them (COMPONENT VERSION). The client version is the package's; it is read with the shared
 * `lib/version.ts` helper because the SDK does not export it.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { packageVersion } from '../../lib/version.js';
import { rawPretty, TabWriter } from '../output.js';
import { subcommand } from '../command-tree.js';

interface Options {
  clientOnly?: boolean;
  raw?: boolean;
}

export function registerVersion(program: Command, ctx: CliContext): void {
  subcommand(program, ['version'], 'Print the client and daemon versions.')
    .option('--client-only', 'print only the client version, without contacting the daemon')
    .option('--raw', 'print raw JSON')
    .action(async (opts: Options) => {
      const client = packageVersion();
      const daemon = opts.clientOnly === true ? undefined : await ctx.client().version();
      if (opts.raw === true) {
        ctx.out(rawPretty({ pachctl: client, ...(daemon === undefined ? {} : { pachd: daemon }) }));
        return;
      }
      if (opts.clientOnly === true) {
        ctx.out(`${client}\n`);
        return;
      }
      const w = new TabWriter((s) => ctx.out(s), ['COMPONENT', 'VERSION']);
      w.row(['pachctl', client]);
      w.row(['pachd', daemon?.version ?? '']);
      w.flush();
    });
}
