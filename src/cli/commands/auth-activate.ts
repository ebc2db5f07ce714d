/**
 * `auth activate`: turns auth on. The root token (`pach:root`, clusterAdmin) is printed once,
 * as pachctl prints it, and stored as the active context's `session_token`, so this machine
 * keeps working as root.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { storeSessionToken } from './auth-config.js';

export function registerAuthActivate(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'activate'], "Activate Pachyderm's auth system, and restrict access to existing data to the root user.")
    .action(async () => {
      const res = await ctx.client().activateAuth();
      storeSessionToken(ctx, res.rootToken);
      ctx.out('WARNING: DO NOT LOSE THE AUTH TOKEN BELOW. STORE IT SECURELY FOR THE LIFE OF THE CLUSTER.THIS TOKEN WILL ALWAYS HAVE ADMIN ACCESS TO FIX THE CLUSTER CONFIGURATION.\n');
      ctx.out(`Pachyderm root token:\n${res.rootToken}\n`);
    });
}
