/**
 * `RunRequest.readOnlyBinds` in both sandbox drivers (what a spout's `/pachctl` config and
 * `/pach-bin` CLI rely on): the bound folder and file are visible and read-only, a host entry of
 * the same name is hidden, and bad targets are refused before anything runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapDriver } from '../bwrap-driver.js';
import { probeDriver } from '../detect-driver.js';
import { UnshareDriver } from '../unshare-driver.js';
import { readOnlyBindsProblem, type UserCodeDriver } from '../user-code-driver.js';

const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

describe('readOnlyBindsProblem', () => {
  it('accepts top-level targets and refuses the rest', () => {
    assert.equal(readOnlyBindsProblem([{ source: '/a', target: '/pachctl' }, { source: '/b', target: '/pach-bin' }]), null);
    assert.match(readOnlyBindsProblem([{ source: '/a', target: '/usr/local/x' }]) ?? '', /top-level path/);
    assert.match(readOnlyBindsProblem([{ source: '/a', target: 'rel' }]) ?? '', /top-level path/);
    assert.match(readOnlyBindsProblem([{ source: '/a', target: '/..' }]) ?? '', /top-level path/);
    assert.match(readOnlyBindsProblem([{ source: '/a', target: '/pfs' }]) ?? '', /provided by the sandbox/);
    assert.match(readOnlyBindsProblem([{ source: '/a', target: '/x' }, { source: '/b', target: '/x' }]) ?? '', /given twice/);
    assert.match(readOnlyBindsProblem([{ source: 'a', target: '/x' }]) ?? '', /absolute path/);
  });
});

for (const [name, make] of [['bwrap', () => new BwrapDriver()], ['unshare', () => new UnshareDriver()]] as const) {
  describe(`read-only binds under ${name}`, () => {
    let dir: string;
    let driver: UserCodeDriver;
    let unavailable = '';
    before(async () => {
      driver = make();
      const probe = await probeDriver(driver);
      if (!probe.ok) unavailable = probe.detail;
      dir = await mkdtemp(join(tmpdir(), 'sluice-binds-'));
      await mkdir(join(dir, 'pfs'));
      await mkdir(join(dir, 'conf'));
      await writeFile(join(dir, 'conf', 'config.json'), '{"ok": true}\n');
      await writeFile(join(dir, 'single'), 'one file\n');
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('shows a bound folder and file read-only, hiding a host entry of the same name', async (t) => {
      if (unavailable !== '') {
        if (process.env.REQUIRE_SERVICES === '1') assert.fail(`${name} cannot run here: ${unavailable}`);
        t.skip(`${name} cannot run here: ${unavailable}`);
        return;
      }
      const lines: string[] = [];
      const script = [
        'cat /pachctl/config.json /one',
        'if touch /pachctl/x 2>/dev/null; then echo writable; else echo read-only; fi',
        // /etc is a host folder; bound over, it shows the config folder instead.
        'ls /etc',
      ].join('; ');
      const res = await driver.run(
        {
          cmd: ['sh', '-c', script],
          stdin: '',
          env: { PATH },
          pfsDir: join(dir, 'pfs'),
          onLine: (_s, l) => lines.push(l),
          readOnlyBinds: [
            { source: join(dir, 'conf'), target: '/pachctl' },
            { source: join(dir, 'single'), target: '/one' },
            { source: join(dir, 'conf'), target: '/etc' },
          ],
        },
        new AbortController().signal,
      );
      assert.equal(res.startError, null);
      assert.equal(res.exitCode, 0, lines.join('\n'));
      assert.deepEqual(lines, ['{"ok": true}', 'one file', 'read-only', 'config.json']);
    });

    it('refuses a bind onto a nested path before starting anything', async () => {
      const res = await driver.run(
        { cmd: ['true'], stdin: '', env: { PATH }, pfsDir: join(dir, 'pfs'), onLine: () => undefined, readOnlyBinds: [{ source: dir, target: '/usr/local/x' }] },
        new AbortController().signal,
      );
      assert.match(res.startError ?? '', /top-level path/);
    });
  });
}
