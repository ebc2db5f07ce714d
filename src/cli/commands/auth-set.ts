/**
 * `auth set repo <repo> <role[,role] | none> <principal>` and `auth set cluster <role | none>
 * <principal>`: pachctl's grammar. A principal holds one role per resource; of a list, the
 * highest is kept. A bare name means `user:<name>`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError, REPO_ROLES, type RepoRole } from '../../client/index.js';
import { subcommand } from '../command-tree.js';

/** The highest repo role of a comma-separated list, or 'none'. */
export function repoRoleArg(text: string): RepoRole | 'none' {
  if (text === 'none') return 'none';
  let best = -1;
  for (const r of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const i = (REPO_ROLES as readonly string[]).indexOf(r);
    if (i === -1) throw new SluiceError('INVALID_ARGUMENT', `unknown repo role ${JSON.stringify(r)}: use ${REPO_ROLES.join(', ')} or none`);
    best = Math.max(best, i);
  }
  const role = REPO_ROLES[best];
  if (role === undefined) throw new SluiceError('INVALID_ARGUMENT', 'name a role, or none');
  return role;
}

export function registerAuthSet(program: Command, ctx: CliContext): void {
  subcommand(program, ['auth', 'set', 'repo'], "Set the roles that 'username' has on 'repo'.")
    .argument('<repo>', 'the repo')
    .argument('<roles>', 'repoReader, repoWriter, repoOwner (comma-separated), or none')
    .argument('<principal>', 'user:<name>, robot:<name>, allClusterUsers (a bare name is user:<name>)')
    .action(async (repo: string, roles: string, principal: string) => {
      await ctx.client().setRepoRole(repo, principal, repoRoleArg(roles));
    });
  subcommand(program, ['auth', 'set', 'cluster'], "Set the roles that 'username' has on the cluster.")
    .argument('<roles>', 'clusterAdmin, or none')
    .argument('<principal>', 'user:<name>, robot:<name> (a bare name is user:<name>)')
    .action(async (roles: string, principal: string) => {
      if (roles !== 'none' && roles !== 'clusterAdmin') throw new SluiceError('INVALID_ARGUMENT', `unknown cluster role ${JSON.stringify(roles)}: use clusterAdmin or none`);
      await ctx.client().setClusterRole(principal, roles);
    });
}
