/**
 * The auth layer: tokens, principals, roles, the route table and the one `authorize()` check.
 * The server installs one hook that calls `AuthService.authorizeRequest()` for every route;
 * pps calls `pipelineChanged` / `pipelineDeleted` so a pipeline's token and roles follow it.
 */
export { AuthService, type AuthServiceOptions, type RequestDecision, type ResourceLookup } from './auth-service.js';
export { authorize, permissionDenied, type AuthFacts, type Caller, type PipelineRepos, type RequestView } from './authorize.js';
export { ROUTE_RULES, ruleFor, isPublic, valuesAt, type Check, type Effect, type RouteId, type RouteRule, type Source } from './route-table.js';
export {
  ALL_CLUSTER_USERS, ROOT_PRINCIPAL, parsePrincipal, pipelineOf, pipelinePrincipal, robotPrincipal, repoRoleIncludes, isRepoRole, isClusterRole,
  type RepoRole, type ClusterRole,
} from './principals.js';
export { bearerToken, hashToken, newToken } from './tokens.js';
