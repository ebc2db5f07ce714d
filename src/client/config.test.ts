/**
 * Daemon addresses in every form pachctl and Pachyderm's clients write, and where `put file`
 * inside a spout takes its default repo and branch from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConfig, spoutDefaults, toBaseUrl, toGrpcAddress } from './config.js';

describe('daemon addresses', () => {
  it('reads grpc://, grpcs://, http(s):// and bare host:port as the same daemon', () => {
    assert.equal(toBaseUrl('grpc://127.0.0.1:30650'), 'http://127.0.0.1:30650');
    assert.equal(toBaseUrl('grpcs://pachd.example:443/'), 'https://pachd.example:443');
    assert.equal(toBaseUrl('localhost'), 'http://localhost:30650');
    assert.equal(toGrpcAddress('http://127.0.0.1:4000'), 'grpc://127.0.0.1:4000');
    assert.equal(toGrpcAddress('https://pachd.example:8443'), 'grpcs://pachd.example:8443');
    assert.equal(toGrpcAddress('127.0.0.1:4000'), 'grpc://127.0.0.1:4000');
    assert.equal(toGrpcAddress('grpc://[::1]:4000'), 'grpc://[::1]:4000');
  });

  it('takes a grpc:// pachd_address from PACH_CONFIG', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
    try {
      const path = join(dir, 'config.json');
      await writeFile(path, JSON.stringify({ v2: { active_context: 'c', contexts: { c: { pachd_address: 'grpc://127.0.0.1:4111', session_token: 'tok' } } } }));
      const r = resolveConfig({ PACH_CONFIG: path });
      assert.equal(r.baseUrl, 'http://127.0.0.1:4111');
      assert.equal(r.token, 'tok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('spoutDefaults', () => {
  it('comes from the spout worker’s variables', () => {
    assert.deepEqual(spoutDefaults({ PPS_PIPELINE_NAME: 'events', SLUICE_SPOUT_OUTPUT_BRANCH: 'staging' }, undefined), { pipeline: 'events', outputBranch: 'staging' });
  });

  it('is absent in a transform, which sets only PPS_PIPELINE_NAME, and outside any pipeline', () => {
    assert.equal(spoutDefaults({ PPS_PIPELINE_NAME: 'edges' }, { pachd_address: 'grpc://h:1' }), undefined);
    assert.equal(spoutDefaults({}, undefined), undefined);
  });

  it('still reads the context keys of configs written by older spout workers', () => {
    assert.deepEqual(spoutDefaults({}, { pipeline_name: 'old', output_branch: 'live' }), { pipeline: 'old', outputBranch: 'live' });
    assert.deepEqual(spoutDefaults({}, { pipeline_name: 'old' }), { pipeline: 'old', outputBranch: 'master' });
  });
});
