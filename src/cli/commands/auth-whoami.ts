/**
 * `auth whoami`: `You are "<principal>"`, and `session expires: <time>` for a token that expires.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';

export function registerAuthWhoami(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'whoami'], 'Print your Pachyderm identity.')
    .action(async () => {
      const me = await ctx.client().whoAmI();
      ctx.out(`You are "${me.principal}"\n`);
      if (me.expiration !== null) ctx.out(`session expires: ${new Date(me.expiration).toISOString()}\n`);
    });
}
