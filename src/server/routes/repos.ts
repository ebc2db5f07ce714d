/**
 * Routes for repos and branches.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { BranchRef, CreateBranchRequest, CreateRepoRequest } from '../../api/types.js';
import type { AppDeps } from '../app.js';
import { body, optString, qBool, reqString } from './util.js';

type Params = { repo: string; branch: string };

export function repoRoutes({ pfs }: AppDeps): FastifyPluginAsync {
  const svc = pfs.service;
  return async (app) => {
    app.post('/repos', async (req, reply) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: CreateRepoRequest = { name: reqString(b, 'name') };
      const d = optString(b, 'description');
      if (d !== undefined) r.description = d;
      if (b.update === true) r.update = true;
      return reply.status(201).send(await svc.createRepo(r));
    });
    app.get('/repos', async (req) => svc.listRepos({ all: qBool(req.query, 'all') }));
    app.get<{ Params: Params }>('/repos/:repo', async (req) => svc.inspectRepo(req.params.repo));
    app.delete<{ Params: Params }>('/repos/:repo', async (req, reply) => {
      await svc.deleteRepo(req.params.repo, { force: qBool(req.query, 'force') });
      return reply.status(204).send();
    });

    app.post<{ Params: Params }>('/repos/:repo/branches', async (req, reply) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: CreateBranchRequest = { name: reqString(b, 'name') };
      const head = optString(b, 'head');
      if (head !== undefined) r.head = head;
      if (Array.isArray(b.provenance)) r.provenance = b.provenance as BranchRef[];
      return reply.status(201).send(await svc.createBranch(req.params.repo, r));
    });
    app.get<{ Params: Params }>('/repos/:repo/branches', async (req) => svc.listBranches(req.params.repo));
    app.get<{ Params: Params }>('/repos/:repo/branches/:branch', async (req) => svc.inspectBranch(req.params.repo, req.params.branch));
    app.delete<{ Params: Params }>('/repos/:repo/branches/:branch', async (req, reply) => {
      await svc.deleteBranch(req.params.repo, req.params.branch, { force: qBool(req.query, 'force') });
      return reply.status(204).send();
    });
  };
}
