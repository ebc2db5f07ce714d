/**
 * `update repo <repo> [-d description]`: sets the description of an existing repo (pachctl's
 * CreateRepo with Update=true, which also creates the repo when it is missing).
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';

export function registerRepoUpdate(program: Command, ctx: CliContext): void {
  subcommand(program, ['update', 'repo'], 'Update a repo.')
    .argument('<repo>', 'name of the repo')
    .option('-d, --description <text>', 'a description of the repo')
    .action(async (repo: string, opts: { description?: string }) => {
      await ctx.client().createRepo(repo, { update: true, ...(opts.description === undefined ? {} : { description: opts.description }) });
    });
}
