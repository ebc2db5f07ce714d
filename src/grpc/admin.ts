/**
 * admin_v2.API: InspectCluster, which the Go pachctl calls before every command. The cluster id
 * is the daemon's `clusterId` (stable for one data directory and metadata store), and
 * `version_warnings_ok` tells the client that Sluice raises no version warnings.
 */
import { API_PREFIX } from '../api/types.js';
import type { GrpcDeps, GrpcRegistry } from './registry.js';

export function registerAdmin(registry: GrpcRegistry, deps: GrpcDeps): void {
  registry
    .service('admin_v2/admin.proto', 'admin_v2.API')
    .unary('InspectCluster', () => ({ route: `GET ${API_PREFIX}/version` }), async () => ({
      id: deps.clusterId,
      deployment_id: deps.clusterId,
      version_warnings_ok: true,
      version_warnings: [],
      proxy_host: '',
      proxy_tls: false,
    }));
}
