/**
 * Retry policies: the backoff schedule, which failures are retried, and that an abort ends a
 * wait at once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../errors/index.js';
import { backoffDelay, DAEMON_RETRY, isTransient, retry, type RetryPolicy } from './retry-policy.js';

describe('retry policy', () => {
  it('doubles from 100 ms to a 5 s cap, jitter only shortening a delay', () => {
    const exact = { ...DAEMON_RETRY, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(exact, a)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    assert.equal(backoffDelay(DAEMON_RETRY, 3, () => 0), 400);
    assert.equal(backoffDelay(DAEMON_RETRY, 3, () => 1), 200);
    assert.equal(DAEMON_RETRY.maxAttempts, null);
  });

  it('treats an unreachable daemon as transient and a refusal or a missing sandbox as final', () => {
    assert.equal(isTransient(new SluiceError('CLIENT_CONNECTION_FAILED', 'x')), true);
    assert.equal(isTransient(new SluiceError('UNAVAILABLE', 'x')), true);
    assert.equal(isTransient(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })), true);
    assert.equal(isTransient(new SluiceError('PPS_EXECUTOR_UNAVAILABLE', 'x')), false);
    assert.equal(isTransient(new SluiceError('AUTH_TOKEN_INVALID', 'x')), false);
    assert.equal(isTransient(new Error('plain')), false);
  });

  it('retries until success, and rethrows what may not be retried', async () => {
    const policy: RetryPolicy = { ...DAEMON_RETRY, initialDelayMs: 1, maxDelayMs: 2 };
    let calls = 0;
    const delays: number[] = [];
    const v = await retry(policy, new AbortController().signal, async () => {
      if (++calls < 4) throw new SluiceError('CLIENT_CONNECTION_FAILED', 'down');
      return 'ok';
    }, { onRetry: (_e, _a, d) => delays.push(d) });
    assert.equal(v, 'ok');
    assert.equal(delays.length, 3);
    await assert.rejects(retry(policy, new AbortController().signal, async () => {
      throw new SluiceError('PFS_REPO_NOT_FOUND', 'gone');
    }), /gone/);
  });

  it('gives up after maxAttempts', async () => {
    let calls = 0;
    await assert.rejects(retry({ ...DAEMON_RETRY, maxAttempts: 3, initialDelayMs: 1 }, new AbortController().signal, async () => {
      calls++;
      throw new SluiceError('UNAVAILABLE', 'busy');
    }), /busy/);
    assert.equal(calls, 3);
  });

  it('stops waiting the moment the signal aborts', async () => {
    const ac = new AbortController();
    const slow: RetryPolicy = { ...DAEMON_RETRY, initialDelayMs: 60_000, jitter: 0 };
    const p = retry(slow, ac.signal, async () => {
      throw new SluiceError('CLIENT_CONNECTION_FAILED', 'down');
    }, { onRetry: () => queueMicrotask(() => ac.abort(new Error('stopping'))) });
    const started = Date.now();
    await assert.rejects(p, /stopping/);
    assert.ok(Date.now() - started < 10_000);
  });
});
