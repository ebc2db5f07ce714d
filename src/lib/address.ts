/**
 * Parsing of pachctl addresses: `repo`, `repo@branch`, `repo@<commit id>`, `repo@branch=<id>`,
 * with ancestry (`master^`, `master~3`, `master.2`) and an optional `:/path`. Shared by the CLI
 * (to split its arguments) and the server (to resolve the ref part).
 */
import { SluiceError } from '../errors/index.js';
import { validateName } from './names.js';

export interface Address {
  repo: string;
  /** Branch name, commit id or `branch=id`, with any ancestry suffix; undefined for a bare repo. */
  ref?: string;
  /** The path after `:`, as typed (cleaned later by the server). */
  path?: string;
}

export type Ancestry = { kind: 'parent'; n: number } | { kind: 'nth'; n: number };

export interface ParsedRef {
  /** A branch name or a commit id. */
  base: string;
  /** Set for `branch=id`: the commit id, which must be on that branch. */
  commit?: string;
  ancestry: Ancestry[];
}

export function parseAddress(input: string, what = 'address'): Address {
  const at = input.indexOf('@');
  const colon = input.indexOf(':', at === -1 ? 0 : at);
  const repoEnd = at !== -1 ? at : colon !== -1 ? colon : input.length;
  const repo = input.slice(0, repoEnd);
  try {
    validateName('repo', repo);
  } catch (err) {
    throw new SluiceError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(input)}: ${(err as Error).message}`);
  }
  const out: Address = { repo };
  if (at !== -1) {
    const ref = input.slice(at + 1, colon === -1 ? input.length : colon);
    if (ref === '') throw new SluiceError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(input)}: empty branch or commit after "@"`);
    out.ref = ref;
  }
  if (colon !== -1) out.path = input.slice(colon + 1);
  return out;
}

const ANCESTRY_RE = /(\^+\d*|~\d*|\.\d+)/g;

/** Splits `master~2`, `master^^`, `<id>.3`, `master=<id>` into base, commit and ancestry steps. */
export function parseRef(ref: string): ParsedRef {
  const firstSuffix = ref.search(/[\^~.]/);
  let base = firstSuffix === -1 ? ref : ref.slice(0, firstSuffix);
  const suffix = firstSuffix === -1 ? '' : ref.slice(firstSuffix);
  const ancestry: Ancestry[] = [];
  if (suffix !== '') {
    const parts = suffix.match(ANCESTRY_RE);
    if (parts === null || parts.join('') !== suffix) {
      throw new SluiceError('INVALID_ARGUMENT', `invalid ancestry ${JSON.stringify(suffix)} in ${JSON.stringify(ref)}: use ^, ~N or .N`);
    }
    for (const p of parts) {
      if (p.startsWith('^')) {
        const carets = p.match(/^\^+/)?.[0].length ?? 1;
        const num = p.slice(carets);
        ancestry.push({ kind: 'parent', n: carets - 1 + (num === '' ? 1 : Number(num)) });
      } else if (p.startsWith('~')) {
        ancestry.push({ kind: 'parent', n: p.length === 1 ? 1 : Number(p.slice(1)) });
      } else {
        ancestry.push({ kind: 'nth', n: Number(p.slice(1)) });
      }
    }
  }
  const eq = base.indexOf('=');
  const out: ParsedRef = { base, ancestry };
  if (eq !== -1) {
    out.commit = base.slice(eq + 1);
    base = base.slice(0, eq);
    out.base = base;
  }
  return out;
}
