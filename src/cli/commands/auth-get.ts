/**
 * `auth get repo <repo>` and `auth get cluster`: one `<principal>: [<role>]` line per binding,
 * as pachctl prints role bindings.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { RoleBinding } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

export function roleBindingLines(bindings: readonly RoleBinding[]): string {
  return bindings.map((b) => `${b.principal}: [${b.role}]\n`).join('');
}

export function registerAuthGet(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'get', 'repo'], "Get the role bindings for 'repo'.")
    .argument('<repo>', 'the repo')
    .action(async (repo: string) => {
      ctx.out(roleBindingLines(await ctx.client().getRepoRoles(repo)));
    });
  subcommand(program, ['auth', 'get', 'cluster'], 'Get the role bindings for the cluster.')
    .action(async () => {
      ctx.out(roleBindingLines(await ctx.client().getClusterRoles()));
    });
}
