/**
 * Routes for pipelines, jobs, datums and logs, and the worker protocol (claim a datum, report a
 * result, ship log lines). Log streams are NDJSON.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ClaimRequest, DatumResult, WorkerLogBatch, WorkerStateReport } from '../../api/pps-types.js';
import { SluiceError } from '../../errors/index.js';
import type { Pps } from '../../pps/index.js';
import { body, optString, qBool, qStr, reqString } from './util.js';

type Params = { name: string; id: string };

export function ppsRoutes(pps: Pps): FastifyPluginAsync {
  const { pipelines, jobs, logs } = pps;
  return async (app) => {
    app.post('/pipelines', async (req, reply) => {
      const b = body<Record<string, unknown>>(req.body);
      const spec = reqString(b, 'spec');
      const file = optString(b, 'file');
      const res = await pipelines.createPipelines(spec, { ...(file !== undefined ? { file } : {}), update: b.update === true, reprocess: b.reprocess === true });
      return reply.status(201).send(res);
    });
    app.get('/pipelines', async (req) => pipelines.list({ history: qBool(req.query, 'history') }));
    app.delete('/pipelines', async (req, reply) => {
      await pipelines.deleteAll({ keepRepo: qBool(req.query, 'keepRepo') });
      return reply.status(204).send();
    });
    app.get<{ Params: Params }>('/pipelines/:name', async (req) => pipelines.inspect(req.params.name));
    app.get<{ Params: Params }>('/pipelines/:name/versions', async (req) => pipelines.history(req.params.name));
    app.delete<{ Params: Params }>('/pipelines/:name', async (req, reply) => {
      await pipelines.delete(req.params.name, { keepRepo: qBool(req.query, 'keepRepo'), force: qBool(req.query, 'force') });
      return reply.status(204).send();
    });
    app.post<{ Params: Params }>('/pipelines/:name/stop', async (req) => pipelines.stop(req.params.name));
    app.post<{ Params: Params }>('/pipelines/:name/start', async (req) => pipelines.start(req.params.name));

    app.get('/jobs', async (req) => {
      const pipeline = qStr(req.query, 'pipeline');
      return jobs.list(pipeline === undefined ? {} : { pipeline });
    });
    app.get<{ Params: Params }>('/pipelines/:name/jobs/:id', async (req) => jobs.inspect(req.params.name, req.params.id));
    app.get<{ Params: Params }>('/pipelines/:name/jobs/:id/wait', async (req, reply) => {
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      return jobs.wait(req.params.name, req.params.id, ac.signal);
    });
    app.post<{ Params: Params }>('/pipelines/:name/jobs/:id/stop', async (req) => jobs.stopJob(req.params.name, req.params.id));
    app.get<{ Params: Params }>('/pipelines/:name/jobs/:id/datums', async (req) => jobs.datums(req.params.name, req.params.id));
    app.post('/datums/preview', async (req) => {
      const b = body<Record<string, unknown>>(req.body);
      const file = optString(b, 'file');
      return jobs.previewDatums(reqString(b, 'spec'), file === undefined ? {} : { file });
    });

    app.get('/logs', async (req, reply) => {
      const pipeline = qStr(req.query, 'pipeline');
      const job = qStr(req.query, 'job');
      const datum = qStr(req.query, 'datum');
      if (pipeline === undefined && job === undefined) throw new SluiceError('INVALID_ARGUMENT', 'logs need a pipeline or a job');
      if (pipeline !== undefined) await pipelines.inspect(pipeline);
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
      try {
        for await (const line of logs.read({
          ...(pipeline !== undefined ? { pipeline } : {}), ...(job !== undefined ? { job } : {}), ...(datum !== undefined ? { datum } : {}),
          follow: qBool(req.query, 'follow'), signal: ac.signal,
        })) {
          reply.raw.write(JSON.stringify(line) + '\n');
        }
      } finally {
        reply.raw.end();
      }
    });

    app.post<{ Params: Params }>('/pipelines/:name/worker/claim', async (req, reply) => {
      const b = body<ClaimRequest>(req.body);
      if (typeof b.worker !== 'string' || b.worker === '') throw new SluiceError('INVALID_REQUEST_BODY', 'field "worker" must be a non-empty string');
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      const task = await jobs.claim(req.params.name, b.worker, typeof b.waitMs === 'number' ? b.waitMs : 0, ac.signal);
      if (task === null) return reply.status(204).send();
      return task;
    });
    app.post<{ Params: Params }>('/pipelines/:name/worker/result', async (req, reply) => {
      const b = body<DatumResult>(req.body);
      for (const f of ['worker', 'job', 'datum'] as const) {
        if (typeof b[f] !== 'string') throw new SluiceError('INVALID_REQUEST_BODY', `field "${f}" must be a string`);
      }
      await jobs.result(req.params.name, b);
      // `?claim=1`: the worker's next datum in the same round trip, if one is pending now (no
      // waiting: an empty answer sends the worker back to its long-polled claim).
      if (qStr(req.query, 'claim') !== '1') return reply.status(204).send();
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      // The result is recorded: a claim that fails (the pipeline deleted meanwhile) must not
      // make the report look refused; the worker's own claim says what happened.
      const task = await jobs.claim(req.params.name, b.worker, 0, ac.signal).catch(() => null);
      if (task === null) return reply.status(204).send();
      return task;
    });
    app.post<{ Params: Params }>('/pipelines/:name/worker/state', async (req, reply) => {
      const b = body<WorkerStateReport>(req.body);
      if (b.state !== 'running' && b.state !== 'crashing') throw new SluiceError('INVALID_REQUEST_BODY', 'field "state" must be "running" or "crashing"');
      const row = await pipelines.requireRow(req.params.name);
      if (row.stopped === 0) await pipelines.setState(req.params.name, b.state, b.state === 'crashing' ? String(b.reason ?? '') : '');
      return reply.status(204).send();
    });
    app.post<{ Params: Params }>('/pipelines/:name/worker/logs', async (req, reply) => {
      await logs.append(req.params.name, body<WorkerLogBatch>(req.body));
      return reply.status(204).send();
    });

    app.post('/delete-all', async (_req, reply) => {
      await pipelines.deleteAll();
      for (const r of await pps.ctx.pfs.service.listRepos({ all: true })) await pps.ctx.pfs.service.deleteRepo(r.name, { force: true });
      return reply.status(204).send();
    });
  };
}
