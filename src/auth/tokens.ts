/**
 * Token material: a token is 32 random bytes as 64 hex digits; the daemon keeps only its
 * SHA-256 (hex), so a copy of the metadata store holds no usable credential.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_BYTES = 32;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (h === undefined) return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(h);
  if (m !== null) return m[1];
  // A header that is not a bearer token still names a credential; it must not pass as none.
  return h.trim() === '' ? undefined : h.trim();
}
