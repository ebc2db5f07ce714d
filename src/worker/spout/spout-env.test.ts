/**
 * The spouts-2.0 environment (what user code finds without set-up) and the marker's naming
 * rules: the variables and their layers, the config file and the CLI shims on disk, and which
 * archive entries are the marker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isMarkerEntry, markerPath } from './marker.js';
import { prepareSpoutEnvironment, spoutUserCodeEnv, SPOUT_CONFIG_PATH } from './spout-env.js';

const run = promisify(execFile);

describe('spoutUserCodeEnv', () => {
  it('layers worker variables, transform.env, then the spout’s own, with the CLI first on PATH', () => {
    const env = spoutUserCodeEnv({
      pipeline: 'events',
      specCommit: 'abc123',
      outputBranch: 'staging',
      daemonAddress: 'http://127.0.0.1:30651',
      token: 't0k',
      transformEnv: { TOPIC: 'orders', PPS_PIPELINE_NAME: 'spoofed', PATH: '/opt/bin:/usr/bin' },
      workerEnv: { PATH: '/usr/bin', HOME: '/root', PACHD_ADDRESS: '127.0.0.1:1', SECRET: 'not passed' },
    });
    assert.equal(env.TOPIC, 'orders');
    assert.equal(env.PPS_PIPELINE_NAME, 'events', 'Pachyderm’s variables win over transform.env');
    assert.equal(env.PPS_SPEC_COMMIT, 'abc123');
    assert.equal(env.PACH_JOB_ID, 'abc123');
    assert.equal(env.PACH_CONFIG, SPOUT_CONFIG_PATH);
    assert.equal(env.PATH, '/pach-bin:/opt/bin:/usr/bin');
    assert.equal(env.HOME, '/root');
    assert.equal(env.PACHD_ADDRESS, '127.0.0.1:1');
    assert.equal(env.SECRET, undefined, 'the worker’s environment is not inherited wholesale');
    assert.equal(env.SLUICE_SPOUT_OUTPUT_BRANCH, 'staging', 'put file with no target writes the output branch');
    // What Pachyderm's Python clients read in a cluster: new_in_cluster() and the token fallback.
    assert.equal(env.PACHD_PEER_SERVICE_HOST, '127.0.0.1');
    assert.equal(env.PACHD_PEER_SERVICE_PORT, '30651');
    assert.equal(env.PACH_PYTHON_AUTH_TOKEN, 't0k');
  });

  it('sets no token variable when the spout has no token', () => {
    const env = spoutUserCodeEnv({ pipeline: 'e', specCommit: 'c', outputBranch: 'master', daemonAddress: '127.0.0.1:30650', transformEnv: {}, workerEnv: {} });
    assert.equal(env.PACH_PYTHON_AUTH_TOKEN, undefined);
    assert.equal(env.PACHD_PEER_SERVICE_PORT, '30650');
  });
});

describe('prepareSpoutEnvironment', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-spout-env-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a private pachctl config naming the daemon (gRPC) and the token, nothing pachyderm-sdk refuses, and working CLI shims', async () => {
    const env = await prepareSpoutEnvironment({
      dir, daemonAddress: 'http://127.0.0.1:30650', token: 't0k',
      nodePath: process.execPath, cliPath: join(dir, "it's here.js"),
    });
    assert.deepEqual(env.binds, [
      { source: join(dir, 'pachctl'), target: '/pachctl' },
      { source: join(dir, 'pach-bin'), target: '/pach-bin' },
    ]);
    const config = JSON.parse(await readFile(join(dir, 'pachctl', 'config.json'), 'utf8')) as unknown;
    assert.deepEqual(config, {
      v2: {
        active_context: 'spout',
        contexts: { spout: { pachd_address: 'grpc://127.0.0.1:30650', session_token: 't0k' } },
      },
    });
    assert.equal((await stat(join(dir, 'pachctl', 'config.json'))).mode & 0o777, 0o600, 'the token is readable by its owner only');
    const shim = await readFile(join(dir, 'pach-bin', 'pachctl'), 'utf8');
    assert.equal(shim, `#!/bin/sh\nSLUICE_INVOKED_AS=pachctl exec '${process.execPath}' '${join(dir, "it'\\''s here.js")}' "$@"\n`);
    // The shim runs node with the CLI path and the arguments, quoting intact.
    await writeFile(join(dir, "it's here.js"), 'console.log(JSON.stringify(process.argv.slice(2)))\n');
    const out = await run(join(dir, 'pach-bin', 'sluice'), ['put', 'file', 'a b']);
    assert.equal(out.stdout, '["put","file","a b"]\n');
  });
});

describe('marker names', () => {
  it('matches the marker file and what is under the marker folder, nothing else', () => {
    const m = markerPath('mymark');
    assert.equal(m, '/mymark');
    assert.ok(isMarkerEntry('/mymark', m));
    assert.ok(isMarkerEntry('/mymark/offsets/p0', m));
    assert.ok(!isMarkerEntry('/mymark2', m), 'unlike Pachyderm’s plain prefix match');
    assert.ok(!isMarkerEntry('/data/mymark', m));
    assert.equal(markerPath(''), undefined);
    assert.equal(markerPath('./a//b/'), '/a/b');
    assert.ok(!isMarkerEntry('/mymark', undefined));
  });
});
