/**
 * Retry policies as data (attempts, backoff, jitter, which failures are retried) and the one
 * loop that applies them. A policy is a plain object so it can be read, logged and swapped in
 * tests; `retry` sleeps between attempts on an AbortSignal, so stopping a worker never waits
 * out a backoff.
 */
import { isSluiceError } from '../errors/index.js';

export interface RetryPolicy {
  /** Attempts in all, the first included; null = until the signal aborts. */
  maxAttempts: number | null;
  initialDelayMs: number;
  factor: number;
  maxDelayMs: number;
  /** Each delay is drawn uniformly from [delay * (1 - jitter), delay]. 0 = no jitter. */
  jitter: number;
  /** Whether a failure may be retried; anything else is rethrown at once. */
  retryable: (err: unknown) => boolean;
}

/** Socket-level failures seen while a response body is streaming (the SDK wraps only connects). */
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Failures that say "the daemon is not there right now": connection refused or reset, a 503.
 * Not `PPS_EXECUTOR_UNAVAILABLE`, which is about this machine and will not heal by waiting.
 */
export function isTransient(err: unknown): boolean {
  if (isSluiceError(err)) return err.code === 'CLIENT_CONNECTION_FAILED' || err.code === 'UNAVAILABLE';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code);
}

/**
 * How a worker talks to a daemon that may be restarting: retry transient failures for ever,
 * 100 ms doubling to 5 s, with jitter so a fleet of workers does not reconnect in lockstep.
 */
export const DAEMON_RETRY: RetryPolicy = {
  maxAttempts: null,
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 5_000,
  jitter: 0.5,
  retryable: isTransient,
};

/** The delay before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryHooks {
  /** Called before each wait with the failure and the delay chosen. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, runs out of attempts, or `signal` aborts. */
export async function retry<T>(policy: RetryPolicy, signal: AbortSignal, fn: (attempt: number) => Promise<T>, hooks: RetryHooks = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!policy.retryable(err)) throw err;
      if (policy.maxAttempts !== null && attempt >= policy.maxAttempts) throw err;
      const delay = backoffDelay(policy, attempt, hooks.random);
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay, signal);
    }
  }
}
