/**
 * Picks the user-code isolation this machine actually supports: bubblewrap first, then
 * `unshare(1)`. Each is probed by running `true` in a real sandbox, because an installed binary
 * proves nothing when user namespaces are disabled or the kernel refuses a mount. Neither
 * working is an error whose message says how to fix it; there is no fallback that runs user
 * code unisolated.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SluiceError } from '../errors/index.js';
import { BwrapDriver } from './bwrap-driver.js';
import { UnshareDriver } from './unshare-driver.js';
import type { SandboxOptions, UserCodeDriver } from './user-code-driver.js';

export type DriverName = 'bwrap' | 'unshare';

export interface DetectOptions {
  /** Only consider these drivers, in this order (default: bwrap, then unshare). */
  candidates?: readonly DriverName[];
  /** What the driver must do for every sandbox (paths to hide). */
  sandbox?: SandboxOptions;
}

export function makeDriver(name: DriverName, sandbox: SandboxOptions = {}): UserCodeDriver {
  return name === 'bwrap' ? new BwrapDriver(sandbox) : new UnshareDriver(sandbox);
}

/** Runs `true` through the driver with a throw-away /pfs. `ok` is false when the sandbox cannot start. */
export async function probeDriver(driver: UserCodeDriver): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-probe-'));
  try {
    await mkdir(join(dir, 'out'));
    const lines: string[] = [];
    const res = await driver.run(
      {
        cmd: ['true'],
        stdin: '',
        env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
        pfsDir: dir,
        onLine: (_stream, line) => lines.push(line),
        timeoutMs: 10_000,
      },
      new AbortController().signal,
    );
    const ok = res.exitCode === 0 && res.startError === null;
    const detail = ok ? '' : res.startError ?? (lines.slice(-3).join('; ') || `exit ${res.exitCode ?? res.signal ?? '?'}`);
    return { ok, detail };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The first driver that can run `true` in a private mount namespace here.
 * @throws SluiceError `PPS_EXECUTOR_UNAVAILABLE` when none can (details.tried says why each failed).
 * @example
 * ```ts
 * const driver = await detectDriver();   // a BwrapDriver where bubblewrap works
 * ```
 */
export async function detectDriver(opts: DetectOptions = {}): Promise<UserCodeDriver> {
  const tried: string[] = [];
  for (const name of opts.candidates ?? (['bwrap', 'unshare'] as const)) {
    const driver = makeDriver(name, opts.sandbox);
    const probe = await probeDriver(driver);
    if (probe.ok) return driver;
    tried.push(`${name}: ${probe.detail}`);
  }
  throw new SluiceError(
    'PPS_EXECUTOR_UNAVAILABLE',
    'cannot isolate user code: install bubblewrap (apt-get install bubblewrap) or allow unprivileged user namespaces',
    { details: { tried } },
  );
}
