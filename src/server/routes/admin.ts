/**
 * Routes for the daemon itself: version, health, fsck and gc.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.js';

export const API_VERSION = 'v1';

export function adminRoutes({ pfs, version }: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/version', async () => ({ version, api: API_VERSION }));
    app.get('/health', async () => ({ ok: true }));
    app.post('/fsck', async () => pfs.fsck.run());
    app.post('/gc', async () => pfs.gc());
  };
}
