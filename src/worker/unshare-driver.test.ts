/**
 * UnshareDriver against the real util-linux `unshare`: the shared driver conformance suite,
 * plus the mapping of the preamble's and env's diagnostics to reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnshareDriver, environmentScript, unshareStartError } from './unshare-driver.js';
import { driverConformance } from './driver-conformance.js';

driverConformance('unshare', (opts) => new UnshareDriver({ killGraceMs: 2_000, ...opts }));

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

  it('refuses a program name holding "=" when env(1) must carry a variable that is not a shell name', async () => {
    const res = await new UnshareDriver().run({ cmd: ['A=b'], stdin: '', env: { 'my-input': '/pfs/my-input' }, pfsDir: '/nonexistent', onLine: () => undefined }, new AbortController().signal);
    assert.match(res.startError ?? '', /contains "="/);
  });

  it('carries shell-named variables on fd 3, not in argv, and the others through env(1)', () => {
    const req = { cmd: ['prog'], env: { PACH_TOKEN: "s3cr'et", 'my-input': '/pfs/my-input' }, pfsDir: '/scratch/pfs' };
    const { args } = new UnshareDriver().command(req, '/tmp/root');
    assert.ok(!args.some((a) => a.includes("s3cr'et")), 'the token is not in argv');
    assert.deepEqual(args.slice(-3), ['/usr/bin/env', 'my-input=/pfs/my-input', 'prog']);
    assert.equal(environmentScript(req.env), "PACH_TOKEN='s3cr'\\''et'\n");
  });

  it('maps the last shell\'s exec failures to reasons', () => {
    assert.equal(unshareStartError('sluice-exec: 1: exec: nosuch: not found', 127), 'user program "nosuch" not found');
    assert.equal(unshareStartError('sluice-exec: 1: exec: /pfs/a: Permission denied', 126), 'user program "/pfs/a" is not executable');
  });
});
