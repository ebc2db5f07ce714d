/**
 * The wire contract of the auth routes (`/auth/...`): requests and replies shared by the
 * server and the SDK. Principals are strings with a kind prefix, as in Pachyderm 2:
 * `pach:root` (the root user made by `auth activate`), `user:<name>`, `robot:<name>`,
 * `pipeline:<name>`, and the pseudo-principal `allClusterUsers`.
 */

export const REPO_ROLES = ['repoReader', 'repoWriter', 'repoOwner'] as const;
export type RepoRole = (typeof REPO_ROLES)[number];
export const CLUSTER_ROLES = ['clusterAdmin'] as const;
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

export interface ActivateAuthResponse {
  /** The root token; shown once, never stored by the daemon except as a hash. */
  rootToken: string;
  principal: string;
}

export interface WhoAmIResponse {
  principal: string;
  /** Expiry of the caller's token (ms since the epoch), or null when it never expires. */
  expiration: number | null;
  clusterRoles: ClusterRole[];
}

export interface RobotTokenRequest {
  /** `name` or `robot:name`. */
  robot: string;
  /** Lifetime in seconds (fractions allowed); omitted for a token that never expires. */
  ttlSeconds?: number;
}

export interface RobotTokenResponse {
  principal: string;
  token: string;
  expiration: number | null;
}

export interface SetRoleRequest {
  principal: string;
  /** A role, or 'none' to remove the principal's role. */
  role: RepoRole | ClusterRole | 'none';
}

export interface RoleBinding {
  principal: string;
  role: RepoRole | ClusterRole;
}

export interface RevokeRequest {
  /** Revoke this one token ... */
  token?: string;
  /** ... or every token of this principal. */
  principal?: string;
}

export interface RevokeResponse {
  revoked: number;
}

/** The caller's role on every repo it has one on (the ACCESS LEVEL column of `list repo`). */
export interface AccessLevelsResponse {
  active: boolean;
  /** True for a clusterAdmin: every repo is `repoOwner`. */
  clusterAdmin: boolean;
  repos: Record<string, RepoRole>;
}
