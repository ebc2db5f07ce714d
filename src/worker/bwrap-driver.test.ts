/**
 * BwrapDriver against the real bubblewrap: the shared driver conformance suite, plus the
 * mapping of bwrap's own diagnostics to reasons.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BwrapDriver, bwrapStartError } from './bwrap-driver.js';
import { driverConformance } from './driver-conformance.js';

driverConformance('bwrap', () => new BwrapDriver({ killGraceMs: 2_000 }));

describe('bwrap diagnostics', () => {
  it('turns an execvp failure into a missing-program reason', () => {
    assert.equal(bwrapStartError('bwrap: execvp processor.py: No such file or directory', 1), 'user program "processor.py" not found');
  });

  it('leaves lines of a program that ran alone', () => {
    assert.equal(bwrapStartError('bwrap: execvp x: No such file or directory', 0), null);
    assert.equal(bwrapStartError('Traceback (most recent call last):', 1), null);
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
