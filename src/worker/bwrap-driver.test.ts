/**
 * BwrapDriver against the real bubblewrap: the shared driver conformance suite, plus the
 * mapping of bwrap's own diagnostics to reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BwrapDriver, bwrapStartError } from './bwrap-driver.js';
import { driverConformance } from './driver-conformance.js';

driverConformance('bwrap', (opts) => new BwrapDriver({ killGraceMs: 2_000, ...opts }));

describe('bwrap diagnostics', () => {
  it('turns an execvp failure into a missing-program reason', () => {
    assert.equal(bwrapStartError('bwrap: execvp processor.py: No such file or directory', 1), 'user program "processor.py" not found');
  });

  it('leaves lines of a program that ran alone', () => {
    assert.equal(bwrapStartError('bwrap: execvp x: No such file or directory', 0), null);
    assert.equal(bwrapStartError('Traceback (most recent call last):', 1), null);
  });

  it('passes its arguments, the environment among them, on fd 3 rather than in argv', () => {
    const { program, args, fd3 } = new BwrapDriver({ bwrap: 'bwrap' }).command({ cmd: ['prog'], env: { PACH_TOKEN: 'tok-123' }, pfsDir: '/scratch/pfs' }, '/tmp/layer');
    assert.equal(program, 'unshare');
    assert.deepEqual(args.slice(-5), ['bwrap', '--args', '3', '--', 'prog']);
    assert.ok(!args.some((a) => a.includes('tok-123')));
    assert.match(fd3, /--setenv\0PACH_TOKEN\0tok-123\0/);
    assert.match(fd3, /--bind\0\/tmp\/layer\0\/tmp\0/);
  });

  it('builds a read-only root with /pfs bound read-write and the environment cleared', () => {
    const args = new BwrapDriver().args({ cmd: ['python3', 'main.py'], env: { A: '1' }, pfsDir: '/scratch/pfs', workingDir: '/pfs/in' });
    const joined = args.join(' ');
    assert.match(joined, /--ro-bind-try \/usr \/usr/);
    assert.match(joined, /--bind \/scratch\/pfs \/pfs/);
    assert.match(joined, /--remount-ro \/ /);
    assert.match(joined, /--chdir \/pfs\/in --clearenv --setenv A 1 -- python3 main\.py$/);
    assert.ok(!args.includes('/pfs') || args.indexOf('/pfs') > args.indexOf('--bind'), 'the host has no /pfs to bind');
  });
});
