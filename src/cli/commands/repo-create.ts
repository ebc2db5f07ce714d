/**
 * `create repo <repo> [-d description]`. The name is checked by the daemon (one rule, one
 * message); an existing repo is an error (PFS_REPO_EXISTS), as in pachctl.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { subcommand } from '../command-tree.js';

export function registerRepoCreate(program: Command, ctx: CliContext): void {
  subcommand(program, ['create', 'repo'], 'Create a new repo.')
    .argument('<repo>', 'name of the repo')
    .option('-d, --description <text>', 'a description of the repo')
    .action(async (repo: string, opts: { description?: string }) => {
      await ctx.client().createRepo(repo, opts.description === undefined ? {} : { description: opts.description });
    });
}
