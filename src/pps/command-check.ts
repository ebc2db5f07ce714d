/**
 * Create-time checks of `transform.cmd` against the host, for the local executor, which runs the
 * command on the host (in a sandbox that shows the host's files, `/tmp` included) and never pulls
 * `transform.image`. A spec written for an image (`python3 /app/main.py`, seeds 002 and 003)
 * would otherwise crash-loop with no word at create time. The checks only warn: the pipeline is
 * still created (the file may appear later, or a Kubernetes executor may run the image).
 *
 * What is checked: the program (a path, or a name looked up on the PATH user code gets), and
 * for an interpreter (`python3`, `sh`, `bash`, `node`, …) the script it is given. Paths under
 * `/pfs` (made per datum) and the spout's own `pachctl`/`sluice` are not checked.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ValidPipelineSpec } from './spec/index.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Interpreters whose first non-option argument is a script file; and the options that take the program from elsewhere. */
const INTERPRETERS: ReadonlyArray<{ name: RegExp; inline: ReadonlySet<string>; withValue: ReadonlySet<string> }> = [
  { name: /^python(\d+(\.\d+)?)?$/, inline: new Set(['-c', '-m', '-']), withValue: new Set(['-W', '-X', '-Q']) },
  { name: /^(sh|bash|dash|zsh|ksh)$/, inline: new Set(['-c', '-s', '-']), withValue: new Set(['-o', '-O', '+o', '+O']) },
  { name: /^(node|nodejs)$/, inline: new Set(['-e', '--eval', '-p', '--print', '-']), withValue: new Set(['-r', '--require', '--import']) },
  { name: /^(perl|ruby)$/, inline: new Set(['-e', '-E', '-']), withValue: new Set(['-I']) },
  { name: /^Rscript$/, inline: new Set(['-e']), withValue: new Set() },
];

/** Programs a spout finds on its PATH without the host having them (spout-env.ts). */
const SPOUT_PROGRAMS = new Set(['pachctl', 'sluice']);

export interface HostProbe {
  /** Whether `path` exists (file or folder). */
  exists(path: string): boolean;
  /** Whether `path` is an executable regular file. */
  executable(path: string): boolean;
  /** The PATH user code gets when the spec sets none (the worker's, inherited from the daemon). */
  path: string;
}

export const REAL_HOST: HostProbe = {
  exists(path) {
    try {
      statSync(path);
      return true;
    } catch {
      return false;
    }
  },
  executable(path) {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
  get path() {
    return process.env.PATH ?? DEFAULT_PATH;
  },
};

function underPfs(path: string): boolean {
  return path === '/pfs' || path.startsWith('/pfs/');
}

/** The script an interpreter's argv names, if any. */
function scriptArgument(program: string, args: readonly string[]): string | undefined {
  const kind = INTERPRETERS.find((i) => i.name.test(posix.basename(program)));
  if (kind === undefined) return undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (kind.inline.has(a)) return undefined;
    if (kind.withValue.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-') || a.startsWith('+')) continue;
    return a;
  }
  return undefined;
}

/**
 * Warnings for a spec whose command cannot be found on this host; `image` is the spec's own
 * `transform.image` (before defaults), named in the warning when set.
 */
export function commandWarnings(spec: ValidPipelineSpec, image: string | undefined, host: HostProbe = REAL_HOST): string[] {
  const name = spec.pipeline.name;
  const t = spec.transform;
  if (t === undefined) return []; // a connector spout runs no user code
  const [program, ...args] = t.cmd;
  if (program === undefined || program === '') return [];
  const wd = t.workingDir !== '' ? t.workingDir : '/';
  const resolve = (p: string): string => posix.resolve(wd, p);
  const why = image !== undefined && image !== ''
    ? `; the local executor runs transform.cmd on this host and does not use transform.image ${JSON.stringify(image)}, so the program and its files must be on the host (give their host paths in cmd)`
    : '; the local executor runs transform.cmd on this host';
  const out: string[] = [];
  if (program.includes('/')) {
    const p = resolve(program);
    if (!underPfs(p) && !host.executable(p)) {
      out.push(`pipeline "${name}": transform.cmd program ${p} ${host.exists(p) ? 'is not an executable file' : 'does not exist on this host'}${why}`);
      return out;
    }
  } else if (!(spec.spout !== undefined && SPOUT_PROGRAMS.has(program))) {
    const searchPath = t.env.PATH ?? host.path;
    const found = searchPath.split(':').some((d) => d !== '' && host.executable(posix.join(d, program)));
    if (!found) {
      out.push(`pipeline "${name}": transform.cmd program "${program}" is not on the PATH user code gets (${searchPath})${why}`);
      return out;
    }
  }
  const script = scriptArgument(program, args);
  if (script !== undefined) {
    const p = resolve(script);
    if (!underPfs(p) && !host.exists(p)) out.push(`pipeline "${name}": transform.cmd names the script ${p}, which does not exist on this host${why}`);
  }
  return out;
}
