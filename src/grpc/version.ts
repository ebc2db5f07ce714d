/**
 * versionpb_v2.API: the version of Pachyderm whose wire Sluice speaks (2.6.0: projects, with the
 * `repo` field in Commit), with Sluice's own version in `additional`. python-pachyderm's test
 * suite and pachctl compare the major and minor numbers against what they need.
 */
import { API_PREFIX } from '../api/types.js';
import type { GrpcDeps, GrpcRegistry } from './registry.js';

/** The Pachyderm release Sluice's gRPC API matches. */
export const PACHYDERM_COMPAT = { major: 2, minor: 6, micro: 0 } as const;

export interface VersionMessage {
  major: number;
  minor: number;
  micro: number;
  additional: string;
  git_commit: string;
  git_tree_modified: string;
  build_date: string;
  go_version: string;
  platform: string;
}

export function versionMessage(sluiceVersion: string): VersionMessage {
  return {
    ...PACHYDERM_COMPAT,
    additional: `sluice-${sluiceVersion}`,
    git_commit: '',
    git_tree_modified: '',
    build_date: '',
    go_version: '',
    platform: `node-${process.version} ${process.platform}/${process.arch}`,
  };
}

export function registerVersion(registry: GrpcRegistry, deps: GrpcDeps): void {
  registry
    .service('versionpb_v2/version.proto', 'versionpb_v2.API')
    .unary('GetVersion', () => ({ route: `GET ${API_PREFIX}/version` }), async () => versionMessage(deps.version));
}
