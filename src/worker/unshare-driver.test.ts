/**
 * UnshareDriver against the real util-linux `unshare`: the shared driver conformance suite,
 * plus the mapping of the preamble's and env's diagnostics to reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnshareDriver, unshareStartError } from './unshare-driver.js';
import { driverConformance } from './driver-conformance.js';

driverConformance('unshare', () => new UnshareDriver({ killGraceMs: 2_000 }));

describe('unshare diagnostics', () => {
  it('turns env failures into reasons', () => {
    assert.equal(unshareStartError("/usr/bin/env: 'x.py': No such file or directory", 127), 'user program "x.py" not found');
    assert.equal(unshareStartError("env: 'x.py': Permission denied", 126), 'user program "x.py" is not executable');
    assert.equal(unshareStartError("/usr/bin/env: cannot change directory to '/w': No such file or directory", 125), 'working directory "/w" does not exist');
  });

  it('reports a sandbox that could not be set up', () => {
    assert.equal(unshareStartError('sluice-sandbox: cannot mount /proc', 125), 'the sandbox could not start the program: cannot mount /proc');
    assert.equal(unshareStartError('unshare: unshare failed: Operation not permitted', 1), 'the sandbox could not start the program: unshare failed: Operation not permitted');
  });

  it('refuses a program name holding "=" (env would read it as a variable)', async () => {
    const res = await new UnshareDriver().run({ cmd: ['A=b'], stdin: '', env: {}, pfsDir: '/nonexistent', onLine: () => undefined }, new AbortController().signal);
    assert.match(res.startError ?? '', /contains "="/);
  });
});
