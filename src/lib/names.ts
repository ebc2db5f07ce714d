/**
 * Name rules shared by repos, branches and pipelines (Pachyderm's `^[a-zA-Z0-9_-]+$`), and the
 * commit-id format (32 lowercase hex digits, a UUIDv4 without dashes, as Pachyderm 2 prints).
 */
import { randomUUID } from 'node:crypto';
import { SluiceError } from '../errors/index.js';

const NAME_RE = /^[a-zA-Z0-9_-]+$/;
const COMMIT_ID_RE = /^[0-9a-f]{32}$/;
export const MAX_NAME_LENGTH = 63;

export type NameKind = 'repo' | 'branch' | 'pipeline';

/** Throws INVALID_NAME unless `name` is a valid repo, branch or pipeline name. */
export function validateName(kind: NameKind, name: string): void {
  if (name.length === 0) throw new SluiceError('INVALID_NAME', `${kind} name cannot be empty`, { details: { kind } });
  if (!NAME_RE.test(name)) {
    throw new SluiceError(
      'INVALID_NAME',
      `${kind} name (${JSON.stringify(name)}) invalid: only alphanumeric characters, underscores, and dashes are allowed`,
      { details: { kind, name } },
    );
  }
  if (name.length > MAX_NAME_LENGTH) {
    throw new SluiceError('INVALID_NAME', `${kind} name is ${name.length} characters long, but must have at most ${MAX_NAME_LENGTH}: ${JSON.stringify(name)}`, {
      details: { kind, name },
    });
  }
}

export function isValidName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= MAX_NAME_LENGTH;
}

export function isCommitId(s: string): boolean {
  return COMMIT_ID_RE.test(s);
}

/** A new commit id: 32 hex digits. */
export function newCommitId(): string {
  return randomUUID().replace(/-/g, '');
}
