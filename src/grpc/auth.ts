/**
 * auth_v2.API over Sluice's `AuthService`: the calls the HTTP auth routes make, each guarded by
 * the route whose rule it shares (route-table.ts).
 *
 * - With auth off, every method but Activate answers UNIMPLEMENTED "the auth service is not
 *   activated" (errors.ts), which python-pachyderm and pachyderm-sdk turn into
 *   AuthServiceNotActivated (their `delete_all` relies on it).
 * - Roles: Sluice binds one role per principal and resource. ModifyRoleBinding's `roles` is the
 *   set the principal is to hold: empty removes its role; several repo roles keep the highest
 *   (each includes those below it). Resources are the cluster and repos (`repo` or
 *   `default/repo`); projects and spec repos are refused.
 * - GetRolesForPermission answers from Sluice's four roles and the Pachyderm permissions each
 *   grants (`ROLE_PERMISSIONS`).
 */
import { API_PREFIX } from '../api/types.js';
import { CLUSTER_ROLES, REPO_ROLES, type ClusterRole, type RepoRole, type RoleBinding } from '../api/auth-types.js';
import { isRepoRole } from '../auth/index.js';
import { SluiceError } from '../errors/index.js';
import { checkProject, timestamp } from './pfs-convert.js';
import { AUTH_NOT_ACTIVATED_MESSAGE } from './errors.js';
import type { GrpcDeps, GrpcRegistry, RouteView } from './registry.js';

const P = API_PREFIX;
type Empty = Record<string, never>;
const EMPTY: Empty = {};

interface ResourceMsg { type: string; name: string }
interface ActivateReq { root_token: string }
interface RobotTokenReq { robot: string; ttl: number }
interface RevokeReq { token: string }
interface ModifyRoleBindingReq { resource: ResourceMsg | null; principal: string; roles: string[] }
interface GetRoleBindingReq { resource: ResourceMsg | null }
interface RolesForPermissionReq { permission: string }

const REPO_READ = [
  'REPO_READ', 'REPO_INSPECT_COMMIT', 'REPO_LIST_COMMIT', 'REPO_LIST_BRANCH', 'REPO_INSPECT_FILE', 'REPO_LIST_FILE', 'PIPELINE_LIST_JOB',
];
const REPO_WRITE = [...REPO_READ, 'REPO_WRITE', 'REPO_DELETE_COMMIT', 'REPO_CREATE_BRANCH', 'REPO_DELETE_BRANCH'];
const REPO_OWN = [...REPO_WRITE, 'REPO_MODIFY_BINDINGS', 'REPO_DELETE', 'REPO_ADD_PIPELINE_READER', 'REPO_REMOVE_PIPELINE_READER', 'REPO_ADD_PIPELINE_WRITER'];

/** The Pachyderm permissions each Sluice role grants (clusterAdmin: every permission). */
export const ROLE_PERMISSIONS: Readonly<Record<RepoRole | ClusterRole, readonly string[] | 'all'>> = {
  repoReader: REPO_READ,
  repoWriter: REPO_WRITE,
  repoOwner: REPO_OWN,
  clusterAdmin: 'all',
};

function notActivated(): SluiceError {
  return new SluiceError('AUTH_NOT_ACTIVATED', AUTH_NOT_ACTIVATED_MESSAGE);
}

type Target = { kind: 'cluster' } | { kind: 'repo'; repo: string };

function resourceTarget(r: ResourceMsg | null): Target {
  if (r === null) throw new SluiceError('INVALID_ARGUMENT', 'resource is required', { details: { field: 'resource' } });
  if (r.type === 'CLUSTER') return { kind: 'cluster' };
  if (r.type === 'REPO') {
    const slash = r.name.indexOf('/');
    const repo = slash === -1 ? r.name : r.name.slice(slash + 1);
    if (slash !== -1) checkProject({ name: r.name.slice(0, slash) });
    if (repo === '') throw new SluiceError('INVALID_ARGUMENT', 'resource.name must name a repo', { details: { field: 'resource.name' } });
    return { kind: 'repo', repo };
  }
  if (r.type === 'SPEC_REPO') throw new SluiceError('INVALID_ARGUMENT', 'roles on a spec repo are those on its pipeline\'s repo: bind them there', { details: { field: 'resource.type' } });
  throw new SluiceError('NOT_IMPLEMENTED', `role bindings on resource type ${r.type} are not served by Sluice (it has no projects): use CLUSTER or REPO`, { details: { field: 'resource.type' } });
}

/** The one Sluice role a set of Pachyderm role names comes to, or 'none'. */
function singleRole(target: Target, roles: readonly string[]): string {
  if (roles.length === 0) return 'none';
  if (target.kind === 'cluster') {
    const unknown = roles.filter((r) => !(CLUSTER_ROLES as readonly string[]).includes(r));
    if (unknown.length > 0) throw new SluiceError('INVALID_ARGUMENT', `invalid cluster role ${JSON.stringify(unknown[0])}: Sluice's cluster role is clusterAdmin`, { details: { roles } });
    return 'clusterAdmin';
  }
  const unknown = roles.filter((r) => !isRepoRole(r));
  if (unknown.length > 0) throw new SluiceError('INVALID_ARGUMENT', `invalid repo role ${JSON.stringify(unknown[0])}: use repoReader, repoWriter or repoOwner`, { details: { roles } });
  let best = -1;
  for (const r of roles) best = Math.max(best, (REPO_ROLES as readonly string[]).indexOf(r));
  return REPO_ROLES[best] ?? 'none';
}

function bindingMsg(bindings: readonly RoleBinding[]): Record<string, unknown> {
  const entries: Record<string, { roles: Record<string, boolean> }> = {};
  for (const b of bindings) {
    const e = entries[b.principal] ?? { roles: {} };
    e.roles[b.role] = true;
    entries[b.principal] = e;
  }
  return { binding: { entries } };
}

export function registerAuth(registry: GrpcRegistry, deps: GrpcDeps): void {
  const auth = deps.auth;
  const s = registry.service('auth_v2/auth.proto', 'auth_v2.API');
  const requireActive = async (): Promise<void> => {
    if (!(await auth.isActive())) throw notActivated();
  };

  s.unary<ActivateReq, unknown>('Activate', () => ({ route: `POST ${P}/auth/activate` }), async (r) => {
    const res = await auth.activate(r.root_token !== '' ? { rootToken: r.root_token } : {});
    return { pach_token: res.rootToken };
  });
  s.unary<Empty, Empty>('Deactivate', () => ({ route: `POST ${P}/auth/deactivate` }), async () => {
    await auth.deactivate();
    return EMPTY;
  });
  s.unary<Empty, unknown>('WhoAmI', () => ({ route: `GET ${P}/auth/whoami` }), async (_r, ctx) => {
    await requireActive();
    const me = await auth.whoAmI(ctx.caller);
    return { username: me.principal, expiration: timestamp(me.expiration) };
  });
  s.unary<RobotTokenReq, unknown>('GetRobotToken', () => ({ route: `POST ${P}/auth/robot-tokens` }), async (r) => {
    const res = await auth.robotToken(r.robot, r.ttl > 0 ? r.ttl : undefined);
    return { token: res.token };
  });
  s.unary<RevokeReq, unknown>('RevokeAuthToken', (r) => ({ route: `POST ${P}/auth/revoke`, body: { token: r.token } }), async (r) => {
    if (r.token === '') throw new SluiceError('INVALID_ARGUMENT', 'token is required', { details: { field: 'token' } });
    return { number: (await auth.revoke({ token: r.token })).revoked };
  });

  const bindingView = (method: 'GET' | 'PUT', r: { resource: ResourceMsg | null }): RouteView => {
    const t = resourceTarget(r.resource);
    return t.kind === 'cluster'
      ? { route: `${method} ${P}/auth/cluster/roles` }
      : { route: `${method} ${P}/auth/repos/:repo/roles`, params: { repo: t.repo } };
  };
  s.unary<ModifyRoleBindingReq, Empty>('ModifyRoleBinding', (r) => bindingView('PUT', r), async (r) => {
    await requireActive();
    if (r.principal === '') throw new SluiceError('INVALID_ARGUMENT', 'principal is required', { details: { field: 'principal' } });
    const t = resourceTarget(r.resource);
    const role = singleRole(t, r.roles);
    if (t.kind === 'cluster') await auth.setClusterRole(r.principal, role);
    else await auth.setRepoRole(t.repo, r.principal, role);
    return EMPTY;
  });
  s.unary<GetRoleBindingReq, unknown>('GetRoleBinding', (r) => bindingView('GET', r), async (r) => {
    await requireActive();
    const t = resourceTarget(r.resource);
    if (t.kind === 'cluster') return bindingMsg(await auth.clusterBindings());
    if (!(await auth.repoExists(t.repo))) throw new SluiceError('PFS_REPO_NOT_FOUND', `repo ${t.repo} not found`, { details: { repo: t.repo } });
    return bindingMsg(await auth.repoBindings(t.repo));
  });
  s.unary<RolesForPermissionReq, unknown>('GetRolesForPermission', () => ({ route: `GET ${P}/auth/whoami` }), async (r) => {
    await requireActive();
    const roles: Array<Record<string, unknown>> = [];
    for (const [name, perms] of Object.entries(ROLE_PERMISSIONS)) {
      if (perms !== 'all' && !perms.includes(r.permission)) continue;
      const cluster = name === 'clusterAdmin';
      roles.push({
        name,
        // clusterAdmin's list would be every permission; the one asked about is what matters.
        permissions: perms === 'all' ? [r.permission] : [...perms],
        can_be_bound_to: cluster ? ['CLUSTER'] : ['CLUSTER', 'REPO'],
        returned_for: cluster ? ['CLUSTER'] : ['REPO'],
      });
    }
    return { roles };
  });

  s.notServed('Authenticate', 'Sluice has no OIDC login: use a robot token (GetRobotToken)');
  s.notServed('GetOIDCLogin', 'Sluice has no OIDC login');
  for (const m of ['GetConfiguration', 'SetConfiguration']) s.notServed(m, 'Sluice has no OIDC configuration');
  for (const m of ['SetGroupsForUser', 'ModifyMembers', 'GetGroups', 'GetGroupsForPrincipal', 'GetUsers']) s.notServed(m, 'Sluice has no groups');
}

/**
 * identity_v2 and license_v2: only DeleteAll, which Pachyderm's clients call from `delete_all()`
 * and which must say "not activated" while auth is off. Sluice keeps no identities or licenses,
 * so with auth on there is nothing to delete.
 */
export function registerIdentityAndLicense(registry: GrpcRegistry, deps: GrpcDeps): void {
  for (const [file, service] of [['identity_v2/identity.proto', 'identity_v2.API'], ['license_v2/license.proto', 'license_v2.API']] as const) {
    registry.service(file, service).unary<Empty, Empty>('DeleteAll', () => ({ route: `POST ${P}/delete-all` }), async () => {
      if (!(await deps.auth.isActive())) throw notActivated();
      return EMPTY;
    });
  }
}
