/**
 * Turning command-line arguments into SDK arguments: `repo`, `repo@branch`,
 * `repo@<branch-or-commit>[:path]` (parsed by the shared `lib/address.ts`), numbers and
 * repeatable options. Errors are `INVALID_ARGUMENT` SluiceErrors, so a bad argument exits 2 like
 * commander's own usage errors.
 *
 * A missing `@ref` where a commit is read or written means `master` (pachctl 2.x sends an empty
 * commit there, which only some server calls accept; Sluice picks the branch users mean). Commands
 * whose object is a branch (`create/inspect/delete branch`) require it.
 */
import { InvalidArgumentError } from 'commander';
import { parseAddress } from '../lib/address.js';
import { SluiceError } from '../client/index.js';

export const DEFAULT_BRANCH = 'master';

export interface CommitArg {
  repo: string;
  ref: string;
}

export interface FileArg extends CommitArg {
  /** The path after `:`; undefined when none (or an empty one) was given. */
  path: string | undefined;
}

function invalid(input: string, what: string, why: string): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(input)}: ${why}`);
}

/** `<repo>`: a bare repo name. */
export function parseRepoArg(input: string): string {
  const a = parseAddress(input, 'repo');
  if (a.ref !== undefined || a.path !== undefined) throw invalid(input, 'repo', 'expected a repo name without "@" or ":"');
  return a.repo;
}

/** `<repo>@<branch>`. */
export function parseBranchArg(input: string): { repo: string; branch: string } {
  const a = parseAddress(input, 'branch');
  if (a.path !== undefined) throw invalid(input, 'branch', 'a branch takes no ":path"');
  if (a.ref === undefined) throw invalid(input, 'branch', 'expected <repo>@<branch>');
  return { repo: a.repo, branch: a.ref };
}

/** `<repo>[@<branch-or-commit>]`, the ref defaulting to `defaultRef`. */
export function parseCommitArg(input: string, defaultRef: string = DEFAULT_BRANCH): CommitArg {
  const a = parseAddress(input, 'commit');
  if (a.path !== undefined) throw invalid(input, 'commit', 'a commit takes no ":path"');
  return { repo: a.repo, ref: a.ref ?? defaultRef };
}

/** `<repo>[@<branch-or-commit>][:<path>]`. With `requirePath`, the path must be there. */
export function parseFileArg(input: string, opts: { requirePath?: boolean; defaultRef?: string } = {}): FileArg {
  const a = parseAddress(input, 'file');
  const path = a.path === undefined || a.path === '' ? undefined : a.path;
  if (opts.requirePath === true && path === undefined) throw invalid(input, 'file', 'expected <repo>@<branch-or-commit>:<path>');
  return { repo: a.repo, ref: a.ref ?? opts.defaultRef ?? DEFAULT_BRANCH, path };
}

/** A commander argument parser for non-negative integers. */
export function intOption(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer.');
  return Number(value);
}

/** A commander argument parser for integers of at least 1. */
export function positiveIntOption(value: string): number {
  const n = intOption(value);
  if (n < 1) throw new InvalidArgumentError('expected an integer of at least 1.');
  return n;
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
