import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSluiceError, type ErrorCode } from '../errors/index.js';
import { openSqliteMetadataStore, type MetadataStore } from '../storage/metadata/index.js';
import { AuthService } from './auth-service.js';
import type { Caller } from './authorize.js';

async function code(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isSluiceError(err)) return err.code;
    throw err;
  }
}

describe('AuthService', () => {
  let dir: string;
  let meta: MetadataStore;
  let now = 1_000_000;
  let auth: AuthService;
  const repos = new Set(['images']);
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-auth-'));
    meta = await openSqliteMetadataStore(join(dir, 'meta.db'));
  });
  after(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const t of ['auth_tokens', 'auth_bindings', 'auth_uploads'] as const) await meta.db.deleteFrom(t).execute();
    await meta.db.updateTable('auth_state').set({ active: 0, activated_at: null }).execute();
    auth = new AuthService(meta.db, {
      now: () => now,
      lookup: { repoExists: async (r) => repos.has(r), commitSetRepos: async () => [], jobPipelines: async () => [], pipelineSpecRepos: async () => [] },
    });
  });

  it('is off by default: no token is anonymous, any other token is ignored', async () => {
    assert.deepEqual(await auth.authenticate(undefined), { kind: 'anonymous' });
    assert.deepEqual(await auth.authenticate('Bearer nonsense'), { kind: 'anonymous' });
  });

  it('activates once, and then needs a valid token', async () => {
    const { rootToken, principal } = await auth.activate();
    assert.equal(principal, 'pach:root');
    assert.equal(await code(auth.activate()), 'AUTH_ALREADY_ACTIVATED');
    assert.equal(await code(auth.authenticate(undefined)), 'AUTH_TOKEN_MISSING');
    assert.equal(await code(auth.authenticate('Bearer nonsense')), 'AUTH_TOKEN_INVALID');
    const root = await auth.authenticate(`Bearer ${rootToken}`);
    assert.equal(root.kind === 'principal' && root.principal, 'pach:root');
    assert.ok(await auth.isClusterAdmin('pach:root'));
  });

  it('stores tokens only as hashes', async () => {
    const { rootToken } = await auth.activate();
    const { token } = await auth.robotToken('ci');
    const rows = await meta.db.selectFrom('auth_tokens').select(['hash', 'principal']).execute();
    assert.ok(rows.length >= 2);
    for (const r of rows) assert.ok(r.hash !== rootToken && r.hash !== token);
    // Nor anywhere in the database files (the main file and its write-ahead log).
    for (const f of ['meta.db', 'meta.db-wal']) {
      const bytes = await readFile(join(dir, f)).catch(() => Buffer.alloc(0));
      assert.equal(bytes.includes(Buffer.from(rootToken)), false, f);
      assert.equal(bytes.includes(Buffer.from(token)), false, f);
    }
  });

  it('expires a robot token after its ttl', async () => {
    await auth.activate();
    const { token, expiration } = await auth.robotToken('ci', 60);
    assert.equal(expiration, now + 60_000);
    assert.equal((await auth.authenticate(`Bearer ${token}`)).kind, 'principal');
    now += 60_000;
    assert.equal(await code(auth.authenticate(`Bearer ${token}`)), 'AUTH_TOKEN_EXPIRED');
  });

  it('revokes a token, or every token of a principal', async () => {
    await auth.activate();
    const a = await auth.robotToken('a');
    const b1 = await auth.robotToken('b');
    const b2 = await auth.robotToken('b');
    assert.deepEqual(await auth.revoke({ token: a.token }), { revoked: 1 });
    assert.equal(await code(auth.authenticate(`Bearer ${a.token}`)), 'AUTH_TOKEN_INVALID');
    assert.deepEqual(await auth.revoke({ principal: 'robot:b' }), { revoked: 2 });
    assert.equal(await code(auth.authenticate(`Bearer ${b1.token}`)), 'AUTH_TOKEN_INVALID');
    assert.equal(await code(auth.authenticate(`Bearer ${b2.token}`)), 'AUTH_TOKEN_INVALID');
  });

  it('keeps roles per repo, highest wins, with allClusterUsers for everyone but pipelines', async () => {
    await auth.activate();
    await auth.setRepoRole('images', 'robot:r', 'repoReader');
    assert.equal(await auth.repoRole('robot:r', 'images'), 'repoReader');
    await auth.setRepoRole('images', 'allClusterUsers', 'repoWriter');
    assert.equal(await auth.repoRole('robot:r', 'images'), 'repoWriter');
    assert.equal(await auth.repoRole('pipeline:p', 'images'), undefined);
    await auth.setRepoRole('images', 'allClusterUsers', 'none');
    await auth.setRepoRole('images', 'robot:r', 'none');
    assert.equal(await auth.repoRole('robot:r', 'images'), undefined);
    assert.equal(await code(auth.setRepoRole('nope', 'robot:r', 'repoReader')), 'PFS_REPO_NOT_FOUND');
    assert.equal(await code(auth.setRepoRole('images', 'pipeline:p', 'repoReader')), 'INVALID_ARGUMENT');
    assert.equal(await code(auth.setRepoRole('images', 'robot:r', 'repoKing')), 'INVALID_ARGUMENT');
  });

  it('caps roles on a system repo at reader', async () => {
    await auth.syncPipelineBindings('edges', ['images']);
    assert.equal(await auth.repoRole('pipeline:edges', 'edges'), 'repoWriter');
    assert.equal(await auth.repoRole('pipeline:edges', 'edges.spec'), 'repoReader');
    assert.equal(await auth.repoRole('pipeline:edges', 'images'), 'repoReader');
    assert.equal(await auth.repoRole('pipeline:edges', 'other'), undefined);
  });

  it('confines pipeline tokens with auth off, replaces them on update and revokes them on delete', async () => {
    await auth.pipelineChanged('edges', { inputs: ['images'] });
    const v1 = await auth.pipelineToken('edges');
    assert.equal(await auth.pipelineToken('edges'), v1, 'the current token is reused');
    const who: Caller = await auth.authenticate(`Bearer ${v1}`);
    assert.deepEqual(who, { kind: 'principal', principal: 'pipeline:edges', expiration: null });
    await auth.pipelineChanged('edges', { inputs: ['images'] });
    const v2 = await auth.pipelineToken('edges');
    assert.notEqual(v2, v1);
    assert.equal(await code(auth.authenticate(`Bearer ${v1}`)), 'AUTH_TOKEN_INVALID');
    assert.equal((await auth.authenticate(`Bearer ${v2}`)).kind, 'principal');
    await auth.pipelineDeleted('edges', { keepRepo: false });
    assert.equal(await code(auth.authenticate(`Bearer ${v2}`)), 'AUTH_TOKEN_INVALID');
    assert.equal(await auth.repoRole('pipeline:edges', 'edges'), undefined);
  });

  it('forgets users and robots on deactivate, but not pipelines', async () => {
    await auth.pipelineChanged('edges', { inputs: ['images'] });
    const p = await auth.pipelineToken('edges');
    await auth.activate();
    const r = await auth.robotToken('r');
    await auth.setRepoRole('images', 'robot:r', 'repoOwner');
    await auth.deactivate();
    assert.equal(await code(auth.deactivate()), 'AUTH_NOT_ACTIVATED');
    assert.deepEqual(await auth.authenticate(`Bearer ${r.token}`), { kind: 'anonymous' });
    assert.equal((await auth.authenticate(`Bearer ${p}`)).kind, 'principal');
    assert.deepEqual(await auth.repoBindings('images'), [{ principal: 'pipeline:edges', role: 'repoReader' }]);
  });

  it('refuses to revoke a pipeline token by hand or to strip root of clusterAdmin', async () => {
    await auth.pipelineChanged('edges', { inputs: [] });
    const p = await auth.pipelineToken('edges');
    await auth.activate();
    assert.equal(await code(auth.revoke({ token: p })), 'INVALID_ARGUMENT');
    assert.equal(await code(auth.revoke({ principal: 'pipeline:edges' })), 'INVALID_ARGUMENT');
    assert.equal(await code(auth.setClusterRole('pach:root', 'none')), 'INVALID_ARGUMENT');
    await auth.setClusterRole('robot:ops', 'clusterAdmin');
    assert.ok(await auth.isClusterAdmin('robot:ops'));
  });
});
