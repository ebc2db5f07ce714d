import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../errors/index.js';
import { API_PREFIX } from '../api/types.js';
import { authorize, type AuthFacts, type Caller, type PipelineRepos } from './authorize.js';
import type { RepoRole } from './principals.js';
import { ruleFor } from './route-table.js';

/** Facts from plain maps: roles by `principal repo`, upload owners, admins. */
function facts(opts: { roles?: Record<string, RepoRole>; uploads?: Record<string, string>; admins?: string[]; repos?: string[]; specs?: PipelineRepos[]; tokens?: Record<string, string> } = {}): AuthFacts {
  return {
    isClusterAdmin: async (p) => (opts.admins ?? []).includes(p),
    repoRole: async (p, r) => opts.roles?.[`${p} ${r}`],
    repoExists: async (r) => (opts.repos ?? []).includes(r),
    uploadOwner: async (id) => opts.uploads?.[id],
    commitSetRepos: async () => ['a', 'b'],
    jobPipelines: async () => ['edges'],
    pipelineSpecRepos: async () => opts.specs ?? [],
    tokenPrincipal: async (t) => opts.tokens?.[t],
  };
}

const who = (principal: string): Caller => ({ kind: 'principal', principal, expiration: null });

async function check(caller: Caller, method: string, route: string, req: { params?: unknown; body?: unknown; query?: unknown }, f: AuthFacts): Promise<string> {
  try {
    await authorize(caller, ruleFor(method, `${API_PREFIX}${route}`), { method, route: `${API_PREFIX}${route}`, ...req }, f);
    return 'allowed';
  } catch (err) {
    if (isSluiceError(err)) return err.code;
    throw err;
  }
}

describe('authorize()', () => {
  it('refuses a route without a rule, even with auth off', async () => {
    assert.equal(await check({ kind: 'anonymous' }, 'GET', '/no-such-route', {}, facts()), 'AUTH_PERMISSION_DENIED');
  });

  it('lets the anonymous caller (auth off, no pipeline token) through every rule', async () => {
    assert.equal(await check({ kind: 'anonymous' }, 'DELETE', '/repos/:repo', { params: { repo: 'x' } }, facts()), 'allowed');
  });

  it('lets a clusterAdmin through every rule', async () => {
    assert.equal(await check(who('pach:root'), 'POST', '/fsck', {}, facts({ admins: ['pach:root'] })), 'allowed');
  });

  it('gives a reader reads and refuses writes, naming principal, permission and resource', async () => {
    const f = facts({ roles: { 'robot:r images': 'repoReader' } });
    assert.equal(await check(who('robot:r'), 'GET', '/repos/:repo/commits/:ref/file', { params: { repo: 'images' } }, f), 'allowed');
    await assert.rejects(
      authorize(who('robot:r'), ruleFor('PUT', `${API_PREFIX}/repos/:repo/commits/:ref/file`), { method: 'PUT', route: `${API_PREFIX}/repos/:repo/commits/:ref/file`, params: { repo: 'images' } }, f),
      (e: unknown) => isSluiceError(e, 'AUTH_PERMISSION_DENIED') && /robot:r/.test(e.message) && /repoWriter/.test(e.message) && /repo images/.test(e.message),
    );
  });

  it('confines a pipeline to its own worker routes', async () => {
    const f = facts({ roles: { 'pipeline:edges edges': 'repoWriter' } });
    assert.equal(await check(who('pipeline:edges'), 'POST', '/pipelines/:name/worker/claim', { params: { name: 'edges' } }, f), 'allowed');
    assert.equal(await check(who('pipeline:edges'), 'POST', '/pipelines/:name/worker/claim', { params: { name: 'other' } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:admin-ish'), 'POST', '/pipelines/:name/worker/claim', { params: { name: 'edges' } }, f), 'AUTH_PERMISSION_DENIED');
  });

  it('refuses a pipeline that creates a repo, and a pipeline that is made clusterAdmin', async () => {
    assert.equal(await check(who('pipeline:edges'), 'POST', '/repos', { body: { name: 'x' } }, facts({ admins: ['pipeline:edges'] })), 'AUTH_PERMISSION_DENIED');
  });

  it('lets only the creator of an upload use it, and needs write on the commit target and read on a copy source', async () => {
    const f = facts({ uploads: { u1: 'robot:w', u2: 'robot:other' }, roles: { 'robot:w out': 'repoWriter' } });
    assert.equal(await check(who('robot:w'), 'PUT', '/uploads/:id/file', { params: { id: 'u1' } }, f), 'allowed');
    assert.equal(await check(who('robot:w'), 'PUT', '/uploads/:id/file', { params: { id: 'u2' } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/commit', { params: { id: 'u1' }, body: { repo: 'out', ref: 'master' } }, f), 'allowed');
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/commit', { params: { id: 'u1' }, body: { repo: 'elsewhere', ref: 'master' } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/commit', { params: { id: 'u1' }, body: { repo: 'out', ref: 'master', marker: { branch: 'marker', uploadId: 'u2' } } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/copy', { params: { id: 'u1' }, body: { src: { repo: 'secret', ref: 'master', path: '/' }, dst: '/' } }, f), 'AUTH_PERMISSION_DENIED');
  });

  it('refuses a commit whose provenance names a repo the caller cannot read', async () => {
    const f = facts({ roles: { 'robot:w out': 'repoWriter' } });
    assert.equal(await check(who('robot:w'), 'POST', '/repos/:repo/commits', { params: { repo: 'out' }, body: { branch: 'master', provenance: [{ repo: 'secret', id: 'x' }] } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:w'), 'POST', '/repos/:repo/commits', { params: { repo: 'out' }, body: { branch: 'master' } }, f), 'allowed');
  });

  it('needs read on every repo of a commit set and on the pipeline of a job', async () => {
    assert.equal(await check(who('robot:r'), 'GET', '/commit-sets/:id', { params: { id: 'c' } }, facts({ roles: { 'robot:r a': 'repoReader' } })), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:r'), 'GET', '/commit-sets/:id', { params: { id: 'c' } }, facts({ roles: { 'robot:r a': 'repoReader', 'robot:r b': 'repoOwner' } })), 'allowed');
    assert.equal(await check(who('robot:r'), 'GET', '/logs', { query: { job: 'j' } }, facts({ roles: { 'robot:r edges': 'repoReader' } })), 'allowed');
    assert.equal(await check(who('robot:r'), 'GET', '/logs', { query: { job: 'j' } }, facts()), 'AUTH_PERMISSION_DENIED');
  });

  it('needs read on existing inputs and owner on an existing output to create or update a pipeline', async () => {
    const specs: PipelineRepos[] = [{ pipeline: 'edges', inputs: ['images'], crons: [] }];
    const reader = { 'robot:u images': 'repoReader' } as const;
    assert.equal(await check(who('robot:u'), 'POST', '/pipelines', { body: { spec: 's' } }, facts({ specs, repos: ['images'], roles: reader })), 'allowed');
    assert.equal(await check(who('robot:u'), 'POST', '/pipelines', { body: { spec: 's' } }, facts({ specs, repos: ['images'] })), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:u'), 'POST', '/pipelines', { body: { spec: 's' } }, facts({ specs, repos: ['images', 'edges'], roles: reader })), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:u'), 'POST', '/pipelines', { body: { spec: 's' } }, facts({ specs, repos: ['images', 'edges'], roles: { ...reader, 'robot:u edges': 'repoOwner' } })), 'allowed');
  });

  it('lets a principal revoke its own tokens only', async () => {
    const f = facts({ tokens: { mine: 'robot:a', theirs: 'robot:b' } });
    assert.equal(await check(who('robot:a'), 'POST', '/auth/revoke', { body: { token: 'mine' } }, f), 'allowed');
    assert.equal(await check(who('robot:a'), 'POST', '/auth/revoke', { body: { token: 'theirs' } }, f), 'AUTH_PERMISSION_DENIED');
    assert.equal(await check(who('robot:a'), 'POST', '/auth/revoke', { body: { principal: 'robot:a' } }, f), 'allowed');
    assert.equal(await check(who('robot:a'), 'POST', '/auth/revoke', { body: { principal: 'robot:b' } }, f), 'AUTH_PERMISSION_DENIED');
  });

  it('refuses a request that does not name the resource its rule needs', async () => {
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/commit', { params: { id: 'u1' }, body: {} }, facts({ uploads: { u1: 'robot:w' } })), 'INVALID_REQUEST_BODY');
    assert.equal(await check(who('robot:w'), 'POST', '/uploads/:id/commit', { params: { id: 'u1' }, body: { repo: 7 } }, facts({ uploads: { u1: 'robot:w' } })), 'INVALID_REQUEST_BODY');
  });
});
