/**
 * Errors on the gRPC wire: every SluiceError becomes a gRPC status whose code follows the error's
 * category (one table, `CATEGORY_STATUS`), whose message is the SluiceError's (Pachyderm's clients
 * match on phrases such as "not found", "already exists", "the auth service is not activated"),
 * and whose trailing metadata carries the stable Sluice code as `sluice-error-code`, so a caller
 * can branch on the code rather than on the text.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { SluiceError, type Category, type ErrorCode } from '../errors/index.js';

const CATEGORY_STATUS: Readonly<Record<Category, status>> = {
  invalid: status.INVALID_ARGUMENT,
  unauthenticated: status.UNAUTHENTICATED,
  forbidden: status.PERMISSION_DENIED,
  notFound: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  precondition: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  internal: status.INTERNAL,
};

/** Codes whose status is not their category's. */
const CODE_STATUS: Partial<Record<ErrorCode, status>> = {
  NOT_IMPLEMENTED: status.UNIMPLEMENTED,
  // Both Pachyderm clients treat UNIMPLEMENTED + this phrase as "auth is off".
  AUTH_NOT_ACTIVATED: status.UNIMPLEMENTED,
};

/**
 * Messages in the shape Pachyderm's clients parse (python-pachyderm's `path_exists` matches
 * `^file .+ not found in repo .+ at commit .+$`, its tests `parent commit .* has not been
 * finished`), rebuilt from the error's details; the Sluice code stays in the metadata.
 */
const PACHYDERM_MESSAGES: Partial<Record<ErrorCode, (d: Record<string, unknown>, message: string) => string | undefined>> = {
  PFS_FILE_NOT_FOUND: (d) => (typeof d.path === 'string' && typeof d.repo === 'string' && typeof d.ref === 'string' ? `file ${d.path} not found in repo ${d.repo} at commit ${d.ref}` : undefined),
  PFS_COMMIT_NOT_FINISHED: (d, m) => (typeof d.branch === 'string' && typeof d.commit === 'string' ? `parent commit ${d.commit} has not been finished (${m})` : undefined),
};

/** The phrase Pachyderm's clients look for when auth is off. */
export const AUTH_NOT_ACTIVATED_MESSAGE = 'the auth service is not activated';

export const ERROR_CODE_KEY = 'sluice-error-code';

export type GrpcError = Partial<ServiceError> & { code: status; details: string; metadata: Metadata };

export function grpcStatusOf(e: SluiceError): status {
  return CODE_STATUS[e.code] ?? CATEGORY_STATUS[e.category];
}

/** The gRPC error for anything a handler threw. Foreign errors become INTERNAL. */
export function toGrpcError(err: unknown): GrpcError {
  const e = err instanceof SluiceError ? err : new SluiceError('INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  let message = PACHYDERM_MESSAGES[e.code]?.(e.details ?? {}, e.message) ?? e.message;
  if (e.code === 'AUTH_NOT_ACTIVATED' && !message.includes(AUTH_NOT_ACTIVATED_MESSAGE)) message = `${AUTH_NOT_ACTIVATED_MESSAGE}: ${message}`;
  return { code: grpcStatusOf(e), details: message, message, metadata };
}

/** UNIMPLEMENTED naming a method Sluice does not serve. */
export function notServed(fullMethod: string, why?: string): SluiceError {
  return new SluiceError('NOT_IMPLEMENTED', `${fullMethod} is not served by Sluice${why === undefined ? '' : `: ${why}`} (see docs/grpc.md)`, { details: { method: fullMethod } });
}
