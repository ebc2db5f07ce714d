/**
 * Driver detection: the first sandbox that really runs wins; none working is a clear error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../errors/index.js';
import { BwrapDriver } from './bwrap-driver.js';
import { detectDriver, probeDriver } from './detect-driver.js';

describe('detectDriver', () => {
  it('prefers bubblewrap when it can run a sandbox here', async (t) => {
    const probe = await probeDriver(new BwrapDriver());
    if (!probe.ok) {
      if (process.env.REQUIRE_SERVICES === '1') throw new Error(`bubblewrap cannot run here: ${probe.detail}`);
      return t.skip(`bubblewrap is not usable here: ${probe.detail}`);
    }
    assert.equal((await detectDriver()).name, 'bwrap');
  });

  it('reports a sandbox tool that is not installed as unusable', async () => {
    const probe = await probeDriver(new BwrapDriver({ bwrap: '/nonexistent/bwrap' }));
    assert.equal(probe.ok, false);
    assert.match(probe.detail, /\/nonexistent\/bwrap is not installed/);
  });

  it('fails with the fix in the message when no driver works', async () => {
    await assert.rejects(detectDriver({ candidates: [] }), (err: unknown) => {
      assert.ok(isSluiceError(err, 'PPS_EXECUTOR_UNAVAILABLE'));
      assert.equal(err.message, 'cannot isolate user code: install bubblewrap (apt-get install bubblewrap) or allow unprivileged user namespaces');
      return true;
    });
  });
});
