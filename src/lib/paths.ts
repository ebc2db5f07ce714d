/**
 * File path rules for repos. A stored path is absolute, `/`-separated, has no empty, `.` or `..`
 * segments, no trailing slash (except the root `/`) and no NUL byte. `cleanPath` turns user input
 * into that form or throws INVALID_PATH; it never resolves `..` (a path that climbs is refused,
 * so nothing can escape a repo root or `/pfs/out`).
 */
import { SluiceError } from '../errors/index.js';

export function cleanPath(input: string): string {
  if (input.includes('\0')) throw new SluiceError('INVALID_PATH', `path ${JSON.stringify(input)} contains a NUL byte`, { details: { path: input } });
  const parts: string[] = [];
  for (const seg of input.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      throw new SluiceError('INVALID_PATH', `path ${JSON.stringify(input)} has a ".." segment`, { details: { path: input } });
    }
    parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** The parent directory of a clean path (`/a/b` -> `/a`, `/a` -> `/`). */
export function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a clean directory and a relative path, then cleans the result. */
export function joinPath(dir: string, rel: string): string {
  return cleanPath(dir + '/' + rel);
}

/** Every ancestor directory of a clean path, nearest last: `/a/b/c` -> [`/`, `/a`, `/a/b`]. */
export function ancestors(path: string): string[] {
  const out = ['/'];
  let i = path.indexOf('/', 1);
  while (i !== -1) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  return out;
}
