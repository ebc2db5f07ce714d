/**
 * The environment of user code: a few worker variables, then transform.env, then Pachyderm's
 * own variables, which win.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DatumTask } from '../api/pps-types.js';
import { userCodeEnv } from './user-code-env.js';

const task: DatumTask = {
  pipeline: 'edges', pipelineVersion: 2, job: 'a'.repeat(32), datum: 'd1', attempt: 1, datumTries: 3, datumTimeoutMs: 0,
  inputs: [
    { name: 'images', repo: 'images', commit: 'c'.repeat(32), path: '/a/b.png', type: 'file' },
    { name: 'all', repo: 'labels', commit: 'e'.repeat(32), path: '/', type: 'dir' },
  ],
  transform: { cmd: ['x'], stdin: [], env: { MODE: 'fast', PACH_JOB_ID: 'spoofed', PATH: '/opt/bin' }, workingDir: '', acceptReturnCode: [], errCmd: [], errStdin: [], user: '', image: 'i' },
};

describe('user code environment', () => {
  it("sets Pachyderm's variables for the job, the datum and each input", () => {
    const env = userCodeEnv(task, {});
    assert.equal(env.images, '/pfs/images/a/b.png');
    assert.equal(env.images_COMMIT, 'c'.repeat(32));
    assert.equal(env.all, '/pfs/all');
    assert.equal(env.all_COMMIT, 'e'.repeat(32));
    assert.equal(env.PACH_JOB_ID, 'a'.repeat(32));
    assert.equal(env.PACH_OUTPUT_COMMIT_ID, 'a'.repeat(32));
    assert.equal(env.PACH_DATUM_ID, 'd1');
    assert.equal(env.PPS_PIPELINE_NAME, 'edges');
  });

  it('keeps only a few worker variables, lets transform.env override them, and never its own names', () => {
    const env = userCodeEnv(task, { PATH: '/usr/bin', HOME: '/home/w', SECRET: 'x', PACHD_ADDRESS: '127.0.0.1:1' });
    assert.equal(env.PATH, '/opt/bin');
    assert.equal(env.HOME, '/home/w');
    assert.equal(env.PACHD_ADDRESS, '127.0.0.1:1');
    assert.equal(env.MODE, 'fast');
    assert.equal(env.SECRET, undefined);
    assert.equal(env.PACH_JOB_ID, 'a'.repeat(32));
  });

  it('adds what Pachyderm’s clients read when the worker provides it, over transform.env', () => {
    const spoofed = { ...task, transform: { ...task.transform, env: { PACH_CONFIG: '/elsewhere' } } };
    const env = userCodeEnv(spoofed, {}, { binds: [], vars: { PACH_CONFIG: '/pachctl/config.json', PACHD_PEER_SERVICE_HOST: '127.0.0.1' } });
    assert.equal(env.PACH_CONFIG, '/pachctl/config.json');
    assert.equal(env.PACHD_PEER_SERVICE_HOST, '127.0.0.1');
    assert.equal(userCodeEnv(task, {}).PACH_CONFIG, undefined, 'nothing when the worker provides nothing');
  });
});
