import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../errors/index.js';
import { maxRepoRole, parsePrincipal, pipelineOf, pipelinePrincipal, repoRoleIncludes, robotPrincipal } from './principals.js';
import { bearerToken, hashToken, newToken } from './tokens.js';

describe('principals and roles', () => {
  it('reads a bare name as user:<name> and keeps known kinds', () => {
    assert.equal(parsePrincipal('alice'), 'user:alice');
    assert.equal(parsePrincipal('robot:ci'), 'robot:ci');
    assert.equal(parsePrincipal('pach:root'), 'pach:root');
    assert.equal(parsePrincipal('allClusterUsers'), 'allClusterUsers');
    assert.equal(parsePrincipal('user:a@example.com'), 'user:a@example.com');
  });

  it('refuses an unknown kind or an invalid name', () => {
    assert.throws(() => parsePrincipal('group:x'), (e) => isSluiceError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => parsePrincipal('robot:a b'), (e) => isSluiceError(e, 'INVALID_ARGUMENT'));
    assert.throws(() => robotPrincipal('../x'), (e) => isSluiceError(e, 'INVALID_NAME'));
  });

  it('names pipelines pipeline:<name> and recognises them', () => {
    assert.equal(pipelinePrincipal('edges'), 'pipeline:edges');
    assert.equal(pipelineOf('pipeline:edges'), 'edges');
    assert.equal(pipelineOf('robot:edges'), undefined);
    assert.equal(robotPrincipal('ci'), 'robot:ci');
    assert.equal(robotPrincipal('robot:ci'), 'robot:ci');
  });

  it('orders repo roles reader < writer < owner', () => {
    assert.ok(repoRoleIncludes('repoOwner', 'repoWriter'));
    assert.ok(repoRoleIncludes('repoWriter', 'repoReader'));
    assert.ok(!repoRoleIncludes('repoReader', 'repoWriter'));
    assert.ok(!repoRoleIncludes(undefined, 'repoReader'));
    assert.equal(maxRepoRole('repoReader', 'repoOwner'), 'repoOwner');
    assert.equal(maxRepoRole(undefined, 'repoReader'), 'repoReader');
  });
});

describe('tokens', () => {
  it('makes 32 random bytes of hex and hashes them with SHA-256', () => {
    const t = newToken();
    assert.match(t, /^[0-9a-f]{64}$/);
    assert.notEqual(newToken(), t);
    assert.match(hashToken(t), /^[0-9a-f]{64}$/);
    assert.notEqual(hashToken(t), t);
  });

  it('reads a bearer header, and treats any other non-empty header as a credential', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer  abc '), 'abc');
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken(''), undefined);
    assert.equal(bearerToken('Basic xyz'), 'Basic xyz');
  });
});
