/**
 * Principals and roles. A principal is a string with a kind prefix, named as Pachyderm 2 names
 * them: `pach:root` (made by `auth activate`, always clusterAdmin), `user:<name>`,
 * `robot:<name>`, `pipeline:<name>` (one per pipeline, its roles derived from its spec) and
 * `allClusterUsers` (a binding for it applies to every authenticated principal but pipelines).
 *
 * Repo roles are ordered: repoReader < repoWriter < repoOwner; a higher one includes the lower.
 * clusterAdmin is a cluster role and includes every repo role on every repo.
 */
import { CLUSTER_ROLES, REPO_ROLES, type ClusterRole, type RepoRole } from '../api/auth-types.js';
import { SluiceError } from '../errors/index.js';
import { isValidName } from '../lib/names.js';

export type { ClusterRole, RepoRole } from '../api/auth-types.js';
export { CLUSTER_ROLES, REPO_ROLES } from '../api/auth-types.js';

export const ROOT_PRINCIPAL = 'pach:root';
export const ALL_CLUSTER_USERS = 'allClusterUsers';
export const PRINCIPAL_KINDS = ['user', 'robot', 'pipeline'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number] | 'pach';

export function pipelinePrincipal(pipeline: string): string {
  return `pipeline:${pipeline}`;
}

/** The pipeline a principal stands for, or undefined for any other principal. */
export function pipelineOf(principal: string): string | undefined {
  return principal.startsWith('pipeline:') ? principal.slice('pipeline:'.length) : undefined;
}

export function robotPrincipal(name: string): string {
  const bare = name.startsWith('robot:') ? name.slice('robot:'.length) : name;
  if (!isValidName(bare)) throw new SluiceError('INVALID_NAME', `invalid robot name ${JSON.stringify(name)}: use letters, digits, '_' and '-'`, { details: { robot: name } });
  return `robot:${bare}`;
}

/**
 * Normalises a principal named by a user: a bare name means `user:<name>` (as pachctl does);
 * `pach:root`, `allClusterUsers` and `<kind>:<name>` are kept.
 */
export function parsePrincipal(text: string): string {
  const t = text.trim();
  if (t === ROOT_PRINCIPAL || t === ALL_CLUSTER_USERS) return t;
  const colon = t.indexOf(':');
  const kind = colon === -1 ? 'user' : t.slice(0, colon);
  const name = colon === -1 ? t : t.slice(colon + 1);
  if (!(PRINCIPAL_KINDS as readonly string[]).includes(kind)) {
    throw new SluiceError('INVALID_ARGUMENT', `invalid principal ${JSON.stringify(text)}: use user:<name>, robot:<name>, pipeline:<name>, ${ROOT_PRINCIPAL} or ${ALL_CLUSTER_USERS}`, { details: { principal: text } });
  }
  // User names may be e-mail addresses (as with OIDC in Pachyderm); refuse only what cannot be one.
  if (name === '' || /[\s\0]/.test(name) || (kind !== 'user' && !isValidName(name))) {
    throw new SluiceError('INVALID_ARGUMENT', `invalid principal ${JSON.stringify(text)}`, { details: { principal: text } });
  }
  return `${kind}:${name}`;
}

export function isRepoRole(role: string): role is RepoRole {
  return (REPO_ROLES as readonly string[]).includes(role);
}

export function isClusterRole(role: string): role is ClusterRole {
  return (CLUSTER_ROLES as readonly string[]).includes(role);
}

export function repoRoleRank(role: RepoRole | undefined): number {
  return role === undefined ? 0 : REPO_ROLES.indexOf(role) + 1;
}

/** True when `held` includes `needed`. */
export function repoRoleIncludes(held: RepoRole | undefined, needed: RepoRole): boolean {
  return repoRoleRank(held) >= repoRoleRank(needed);
}

export function maxRepoRole(a: RepoRole | undefined, b: RepoRole | undefined): RepoRole | undefined {
  return repoRoleRank(a) >= repoRoleRank(b) ? a : b;
}
