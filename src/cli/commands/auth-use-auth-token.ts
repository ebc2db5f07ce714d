/**
 * `auth use-auth-token`: reads a token from stdin and stores it as the active context's
 * `session_token` (pachctl prints the same prompt; `get-robot-token -q NAME | pachctl auth
 * use-auth-token` works).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { readTokenFromStdin, storeSessionToken } from './auth-config.js';

export function registerAuthUseAuthToken(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'use-auth-token'], "Read a Pachyderm auth token from stdin, and write it to the current user's Pachyderm config file.")
    .action(async () => {
      ctx.out('Please paste your Pachyderm auth token:\n');
      storeSessionToken(ctx, await readTokenFromStdin(ctx));
    });
}
