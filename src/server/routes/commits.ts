/**
 * Routes for commits: start, finish, inspect, list, wait, subscribe (NDJSON stream), delete,
 * squash, and commit sets.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { CommitRef, StartCommitRequest } from '../../api/types.js';
import type { AppDeps } from '../app.js';
import { body, optString, qBool, qInt, qStr, reqString } from './util.js';

type Params = { repo: string; ref: string; id: string };

export function commitRoutes({ pfs }: AppDeps): FastifyPluginAsync {
  const svc = pfs.service;
  return async (app) => {
    app.post<{ Params: Params }>('/repos/:repo/commits', async (req, reply) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: StartCommitRequest = { branch: reqString(b, 'branch') };
      const parent = optString(b, 'parent');
      if (parent !== undefined) r.parent = parent;
      const description = optString(b, 'description');
      if (description !== undefined) r.description = description;
      if (Array.isArray(b.provenance)) r.provenance = b.provenance as CommitRef[];
      return reply.status(201).send(await svc.startCommit(req.params.repo, r));
    });
    app.post<{ Params: Params }>('/repos/:repo/commits/:ref/finish', async (req) => {
      const b = body<Record<string, unknown>>(req.body);
      const description = optString(b, 'description');
      return svc.finishCommit(req.params.repo, req.params.ref, description === undefined ? {} : { description });
    });
    app.get<{ Params: Params }>('/repos/:repo/commits', async (req) => {
      const opts: { branch?: string; limit?: number; from?: string } = {};
      const branch = qStr(req.query, 'branch');
      if (branch !== undefined) opts.branch = branch;
      const limit = qInt(req.query, 'limit');
      if (limit !== undefined) opts.limit = limit;
      const from = qStr(req.query, 'from');
      if (from !== undefined) opts.from = from;
      return svc.listCommits(req.params.repo, opts);
    });
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref', async (req) => svc.inspectCommit(req.params.repo, req.params.ref));
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/wait', async (req, reply) => {
      const ac = new AbortController();
      reply.raw.once('close', () => ac.abort());
      return svc.waitCommit(req.params.repo, req.params.ref, ac.signal);
    });
    app.delete<{ Params: Params }>('/repos/:repo/commits/:ref', async (req, reply) => {
      await svc.deleteCommit(req.params.repo, req.params.ref);
      return reply.status(204).send();
    });
    app.post<{ Params: Params }>('/repos/:repo/commits/:ref/squash', async (req, reply) => {
      await svc.squashCommit(req.params.repo, req.params.ref);
      return reply.status(204).send();
    });
    app.get<{ Params: Params }>('/commit-sets/:id', async (req) => svc.listCommitSet(req.params.id));

    // Streams finished commits as NDJSON lines until the client goes away.
    app.get<{ Params: Params }>('/repos/:repo/subscribe', async (req, reply) => {
      const ac = new AbortController();
      const opts: { branch?: string; from?: string; onlyNew?: boolean; signal: AbortSignal } = { signal: ac.signal };
      const branch = qStr(req.query, 'branch');
      if (branch !== undefined) opts.branch = branch;
      const from = qStr(req.query, 'from');
      if (from !== undefined) opts.from = from;
      if (qBool(req.query, 'new')) opts.onlyNew = true;
      // Surface errors (unknown repo, bad ref) as a normal error response before streaming starts.
      await svc.inspectRepo(req.params.repo);
      if (from !== undefined) await svc.inspectCommit(req.params.repo, from);
      reply.raw.once('close', () => ac.abort());
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
      try {
        for await (const commit of svc.subscribeCommits(req.params.repo, opts)) reply.raw.write(JSON.stringify({ type: 'commit', commit }) + '\n');
      } catch (err) {
        if (!ac.signal.aborted) req.log.error({ err }, 'subscribe stream failed');
      } finally {
        reply.raw.end();
      }
    });
  };
}
