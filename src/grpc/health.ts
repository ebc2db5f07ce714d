/**
 * grpc.health.v1.Health: `Check` answers SERVING for the server as a whole ("") and for each
 * service Sluice serves, SERVICE_UNKNOWN... as NOT_FOUND for any other name, as the standard asks.
 */
import { API_PREFIX } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import type { GrpcRegistry } from './registry.js';

interface HealthCheckRequest {
  service: string;
}

export function registerHealth(registry: GrpcRegistry): void {
  registry
    .service('grpc/health/v1/health.proto', 'grpc.health.v1.Health')
    .unary<HealthCheckRequest, { status: string }>('Check', () => ({ route: `GET ${API_PREFIX}/health` }), async (req) => {
      const served = new Set(registry.methods().served.map((m) => m.slice(0, m.indexOf('/'))));
      if (req.service !== '' && !served.has(req.service)) {
        throw new SluiceError('INVALID_ARGUMENT', `unknown service ${JSON.stringify(req.service)}`, { details: { service: req.service } });
      }
      return { status: 'SERVING' };
    });
}
