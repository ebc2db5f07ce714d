/**
 * `delete repo (<repo> | --all) [-f]`. Without `--force` the daemon refuses a repo that has
 * commits or dependents. `--all` deletes every user repo, one call each.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { parseRepoArg } from '../args.js';
import { subcommand } from '../command-tree.js';

export function registerRepoDelete(program: Command, ctx: CliContext): void {
  subcommand(program, ['delete', 'repo'], 'Delete a repo.')
    .argument('[repo]', 'name of the repo')
    .option('-f, --force', 'remove the repo even if it has data or dependents')
    .option('--all', 'remove all repos')
    .action(async (arg: string | undefined, opts: { force?: boolean; all?: boolean }) => {
      const force = opts.force === true;
      if (arg !== undefined && opts.all === true) throw new SluiceError('INVALID_ARGUMENT', 'cannot use the --all flag with an argument');
      if (arg === undefined && opts.all !== true) throw new SluiceError('INVALID_ARGUMENT', 'either a repo name or the --all flag needs to be provided');
      const client = ctx.client();
      if (arg !== undefined) {
        await client.deleteRepo(parseRepoArg(arg), { force });
        return;
      }
      for (const r of await client.listRepos()) await client.deleteRepo(r.name, { force });
    });
}
