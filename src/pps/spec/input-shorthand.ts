/**
 * The INPUT column of `list pipeline` (Pachyderm's `ShorthandInput`, reference §5.3):
 * `repo:glob` for a pfs input, `name:spec` for cron, `(a ⨯ b)` cross, `(a ⋈ b)` join,
 * `(a ∪ b)` union, `(Group: a, b)` group, and `none` when there is no input (spouts).
 *
 * Pure; renders the spec as stored (after defaults the glob is cleaned, e.g. `/urls/*`).
 */
import type { Input } from './types.js';

export function inputShorthand(input: Input | undefined): string {
  if (input === undefined) return 'none';
  if (input.pfs !== undefined) return `${input.pfs.repo}:${input.pfs.glob}`;
  if (input.cross !== undefined) return `(${input.cross.map(inputShorthand).join(' ⨯ ')})`;
  if (input.join !== undefined) return `(${input.join.map(inputShorthand).join(' ⋈ ')})`;
  if (input.group !== undefined) return `(Group: ${input.group.map(inputShorthand).join(', ')})`;
  if (input.union !== undefined) return `(${input.union.map(inputShorthand).join(' ∪ ')})`;
  if (input.cron !== undefined) return `${input.cron.name}:${input.cron.spec}`;
  if (input.git !== undefined) return `${input.git.name}:${input.git.url}`;
  return '';
}
