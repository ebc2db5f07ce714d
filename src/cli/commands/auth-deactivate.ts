/**
 * `auth deactivate [-y]`: turns auth off (clusterAdmin only), forgetting every user and robot
 * token and role. Asks for confirmation on stdin as pachctl does ("yN"); `-y` skips it.
 * Pipelines stay confined to their own repos.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

async function confirmed(ctx: CliContext): Promise<boolean> {
  let text = '';
  for await (const c of ctx.io.stdin) {
    text += typeof c === 'string' ? c : (c as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return /^[yY]/.test(text.trim());
}

export function registerAuthDeactivate(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'deactivate'], 'Delete all ACLs, tokens, and admins, and deactivate Pachyderm auth.')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { yes?: boolean }) => {
      if (opts.yes !== true) {
        ctx.out('Are you sure you want to delete ALL auth information (ACLs, tokens, and admins) in this cluster, and expose ALL data? yN\n');
        if (!(await confirmed(ctx))) throw new SluiceError('INVALID_ARGUMENT', 'operation aborted');
      }
      await ctx.client().deactivateAuth();
    });
}
