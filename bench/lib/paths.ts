/**
 * Where the benchmarks find the code they measure. The compiled benchmark lives at
 * `<out>/bench/lib/paths.js`; the CLI it drives is `<out>/src/cli/main.js` of the same build, which
 * is exactly the module `bin/sluice.js` imports when `<out>` is the package's `dist/`. (Building to
 * a private out-dir keeps a long run immune to other people rebuilding `dist/` meanwhile.)
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/lib/version.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The root of the build this module belongs to (`dist/` normally). */
export const BUILD_ROOT = resolve(here, '..', '..');

/** The package root (where package.json, bin/ and BENCHMARKS.md are). */
export const PACKAGE_ROOT = packageRoot();

/** The file to run with node to get the CLI: `bin/sluice.js` for the normal build. */
export function cliEntry(): string {
  const bin = join(PACKAGE_ROOT, 'bin', 'sluice.js');
  if (resolve(BUILD_ROOT) === resolve(PACKAGE_ROOT, 'dist') && existsSync(bin)) return bin;
  return join(BUILD_ROOT, 'src', 'cli', 'main.js');
}

/** How the CLI is run, as Markdown for the report: `node bin/sluice.js` or the equivalent module. */
export function cliLabel(): string {
  const entry = cliEntry();
  const rel = entry.startsWith(PACKAGE_ROOT) ? entry.slice(PACKAGE_ROOT.length + 1) : entry;
  return rel === join('bin', 'sluice.js') ? `\`node ${rel}\`` : `\`node ${rel}\` (the module bin/sluice.js runs, from a private build)`;
}

export const BENCHMARKS_MD = join(PACKAGE_ROOT, 'BENCHMARKS.md');
