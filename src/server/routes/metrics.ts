/**
 * `GET /metrics`: every metric of this daemon in the Prometheus text format (docs/metrics.md).
 * Outside the API prefix, where Prometheus looks by default; guarded by the route table's
 * `metricsScraper` rule (open, or a token, as the operator chose with `--metrics-auth`).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { DaemonMetrics } from '../metrics/daemon-metrics.js';

export function metricsRoutes(metrics: DaemonMetrics): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.meter.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    });
  };
}
