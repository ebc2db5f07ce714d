/**
 * `auth revoke (--token <token> | --user <principal>)`: revokes one token, or every token of a
 * principal. A user may revoke their own tokens; a clusterAdmin anyone's (but a pipeline's,
 * which follow the pipeline).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

export function registerAuthRevoke(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'revoke'], 'Revoke a Pachyderm auth token.')
    .option('--token <token>', 'the token to revoke')
    .option('--user <principal>', 'the principal whose tokens to revoke')
    .action(async (opts: { token?: string; user?: string }) => {
      if (opts.token === undefined && opts.user === undefined) throw new SluiceError('INVALID_ARGUMENT', 'one of --token or --user must be set');
      if (opts.token !== undefined && opts.user !== undefined) throw new SluiceError('INVALID_ARGUMENT', 'only one of --token or --user may be set');
      await ctx.client().revokeAuthToken(opts.token !== undefined ? { token: opts.token } : { principal: opts.user ?? '' });
    });
}
