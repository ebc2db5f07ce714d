/**
 * Routes for files: upload sessions (put, tar, delete, copy, commit, abort), the one-shot put
 * that makes one commit per request, and reads (get, get as tar, list, inspect, glob, diff).
 */
import type { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { CommitRef, CommitUploadRequest, CopyFileRequest } from '../../api/types.js';
import { SluiceError } from '../../errors/index.js';
import type { AppDeps } from '../app.js';
import { body, optString, qBool, qReq, qStr, reqString } from './util.js';
import { parseSpoutStats } from '../metrics/daemon-metrics.js';

type Params = { repo: string; ref: string; id: string };

function stream(b: unknown): Readable {
  if (b === undefined || b === null || typeof (b as Readable).pipe !== 'function') {
    throw new SluiceError('INVALID_REQUEST_BODY', 'file bodies must be sent as application/octet-stream or application/x-tar');
  }
  return b as Readable;
}

export function fileRoutes({ pfs, metrics }: AppDeps): FastifyPluginAsync {
  const { uploads, files } = pfs;
  return async (app) => {
    app.post('/uploads', async (_req, reply) => reply.status(201).send({ id: await uploads.create() }));
    app.put<{ Params: Params }>('/uploads/:id/file', async (req) => {
      return uploads.putFile(req.params.id, qReq(req.query, 'path'), stream(req.body), { append: qBool(req.query, 'append') });
    });
    app.put<{ Params: Params }>('/uploads/:id/tar', async (req) => {
      return uploads.putTar(req.params.id, qStr(req.query, 'path') ?? '/', stream(req.body), { append: qBool(req.query, 'append') });
    });
    app.post<{ Params: Params }>('/uploads/:id/delete', async (req, reply) => {
      await uploads.deleteFile(req.params.id, reqString(body<Record<string, unknown>>(req.body), 'path'));
      return reply.status(204).send();
    });
    app.post<{ Params: Params }>('/uploads/:id/copy', async (req) => {
      const b = body<Record<string, unknown>>(req.body);
      const src = body<Record<string, unknown>>(b.src);
      const r: CopyFileRequest = { src: { repo: reqString(src, 'repo'), ref: reqString(src, 'ref'), path: reqString(src, 'path') }, dst: reqString(b, 'dst') };
      if (b.append === true) r.append = true;
      return uploads.copyFile(req.params.id, r);
    });
    app.post<{ Params: Params }>('/uploads/:id/commit', async (req) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: CommitUploadRequest = { repo: reqString(b, 'repo'), ref: reqString(b, 'ref') };
      const description = optString(b, 'description');
      if (description !== undefined) r.description = description;
      if (Array.isArray(b.provenance)) r.provenance = b.provenance as CommitRef[];
      if (b.marker !== undefined) {
        const m = body<Record<string, unknown>>(b.marker);
        r.marker = { branch: reqString(m, 'branch'), uploadId: reqString(m, 'uploadId') };
      }
      const spoutStats = parseSpoutStats(b.spoutStats);
      const res = await uploads.commit(req.params.id, r);
      if (spoutStats !== undefined) await metrics?.spoutBatch(res.commit, spoutStats);
      return res;
    });
    app.delete<{ Params: Params }>('/uploads/:id', async (req, reply) => {
      await uploads.abort(req.params.id);
      return reply.status(204).send();
    });

    // One request, one commit: the body is one file (or a tar with ?tar=true), in one transaction.
    app.put<{ Params: Params }>('/repos/:repo/commits/:ref/file', async (req) => {
      const description = qStr(req.query, 'description');
      return uploads.putAndCommit({
        repo: req.params.repo, ref: req.params.ref, path: qReq(req.query, 'path'),
        tar: qBool(req.query, 'tar'), append: qBool(req.query, 'append'),
        ...(description !== undefined ? { description } : {}),
      }, stream(req.body));
    });

    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/file', async (req, reply) => {
      const path = qReq(req.query, 'path');
      if (qBool(req.query, 'tar')) {
        const tar = await files.getTar(req.params.repo, req.params.ref, path);
        return reply.header('content-type', 'application/x-tar').send(tar);
      }
      const { info, body: data } = await files.getFile(req.params.repo, req.params.ref, path);
      return reply.header('content-type', 'application/octet-stream').header('content-length', String(info.sizeBytes)).send(data);
    });
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/files', async (req) => files.listFile(req.params.repo, req.params.ref, qStr(req.query, 'path') ?? '/'));
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/stat', async (req) => files.inspectFile(req.params.repo, req.params.ref, qReq(req.query, 'path')));
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/glob', async (req) => files.globFile(req.params.repo, req.params.ref, qReq(req.query, 'pattern')));
    app.get<{ Params: Params }>('/repos/:repo/commits/:ref/diff', async (req) => files.diffFile(req.params.repo, req.params.ref, qStr(req.query, 'old'), qStr(req.query, 'path') ?? '/'));
  };
}
