/**
 * `auth get-robot-token <name> [--ttl 1h] [-q]`: a token for `robot:<name>` (clusterAdmin only).
 * Prints `Token: <token>`, or only the token with `-q` (to pipe into `auth use-auth-token`).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';
import { parseGoDuration } from './auth-config.js';

export function registerAuthGetRobotToken(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'get-robot-token'], 'Get an auth token for a robot user with the specified name.')
    .argument('<name>', 'the robot (robot:<name> is added when missing)')
    .option('--ttl <duration>', 'the token\'s lifetime, a Go duration (e.g. "30s" or "1h2m3s"); if unset, the token does not expire')
    .option('-q, --quiet', 'only print the token')
    .action(async (name: string, opts: { ttl?: string; quiet?: boolean }) => {
      const res = await ctx.client().getRobotToken(name, opts.ttl === undefined ? {} : { ttlSeconds: parseGoDuration(opts.ttl) });
      ctx.out(opts.quiet === true ? `${res.token}\n` : `Token: ${res.token}\n`);
    });
}
