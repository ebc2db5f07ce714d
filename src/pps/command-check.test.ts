/**
 * commandWarnings against a fake host: which programs and scripts are looked for, where.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandWarnings, type HostProbe } from './command-check.js';
import type { ValidPipelineSpec } from './spec/index.js';

const host: HostProbe = {
  exists: (p) => ['/usr/bin/python3', '/usr/bin/sh', '/home/u/proc.py', '/work/main.py'].includes(p),
  executable: (p) => ['/usr/bin/python3', '/usr/bin/sh'].includes(p),
  path: '/usr/local/bin:/usr/bin',
};

function spec(cmd: string[], more: { workingDir?: string; env?: Record<string, string>; spout?: boolean } = {}): ValidPipelineSpec {
  return {
    pipeline: { name: 'p' },
    transform: { cmd, workingDir: more.workingDir ?? '', env: more.env ?? {} },
    ...(more.spout === true ? { spout: {} } : {}),
  } as unknown as ValidPipelineSpec;
}

describe('commandWarnings', () => {
  it('is silent for a program on PATH running a script that exists', () => {
    assert.deepEqual(commandWarnings(spec(['python3', '-u', '/home/u/proc.py']), undefined, host), []);
    assert.deepEqual(commandWarnings(spec(['python3', 'main.py'], { workingDir: '/work' }), undefined, host), []);
  });

  it("names seed 002's relative script, resolved against the working directory, and the unused image", () => {
    const [w] = commandWarnings(spec(['python3', 'consumer/main.py']), 'pachyderm/example-spout101:2.0.0', host);
    assert.match(w ?? '', /^pipeline "p": transform\.cmd names the script \/consumer\/main\.py, which does not exist on this host; the local executor runs transform\.cmd on this host and does not use transform\.image "pachyderm\/example-spout101:2\.0\.0"/);
  });

  it('names a program that is not on PATH, or a path that is not executable', () => {
    assert.match(commandWarnings(spec(['python', 'x.py']), undefined, host)[0] ?? '', /program "python" is not on the PATH user code gets \(\/usr\/local\/bin:\/usr\/bin\)/);
    assert.match(commandWarnings(spec(['/home/u/proc.py']), undefined, host)[0] ?? '', /program \/home\/u\/proc\.py is not an executable file/);
    assert.match(commandWarnings(spec(['/opt/app/run']), undefined, host)[0] ?? '', /program \/opt\/app\/run does not exist on this host/);
    assert.deepEqual(commandWarnings(spec(['python3', 'x'], { env: { PATH: '/nowhere' } }), undefined, host).length, 1);
  });

  it('does not look for inline code, files under /pfs, or a spout\'s own pachctl', () => {
    assert.deepEqual(commandWarnings(spec(['sh', '-c', 'echo hi']), undefined, host), []);
    assert.deepEqual(commandWarnings(spec(['python3', '-m', 'http.server']), undefined, host), []);
    assert.deepEqual(commandWarnings(spec(['python3', '/pfs/in/script.py']), undefined, host), []);
    assert.deepEqual(commandWarnings(spec(['pachctl', 'put', 'file']), undefined, { ...host, path: '/usr/bin' }).length, 1);
    assert.deepEqual(commandWarnings(spec(['pachctl', 'put', 'file'], { spout: true }), undefined, host), []);
  });
});
