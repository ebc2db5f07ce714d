/**
 * The one error class of Sluice and its catalog of stable codes.
 *
 * Every error that crosses a boundary (HTTP, SDK, CLI) is a `SluiceError` with a code from
 * `ERROR_CODES`. The code's category decides the HTTP status, whether a retry may help and the
 * CLI exit code, in one place each (`CATEGORIES`). Callers branch on `code`, never on message
 * text. Foreign errors (sqlite, fs, child_process) are wrapped at the edge with the original
 * kept as `cause`.
 */

export const CATEGORIES = {
  invalid: { status: 400, exitCode: 2, retryable: false },
  unauthenticated: { status: 401, exitCode: 3, retryable: false },
  forbidden: { status: 403, exitCode: 3, retryable: false },
  notFound: { status: 404, exitCode: 4, retryable: false },
  conflict: { status: 409, exitCode: 5, retryable: false },
  precondition: { status: 412, exitCode: 5, retryable: false },
  unavailable: { status: 503, exitCode: 6, retryable: true },
  internal: { status: 500, exitCode: 1, retryable: false },
} as const;

export type Category = keyof typeof CATEGORIES;

/** code -> category. Add new codes here; never rename one (they are part of the wire contract). */
export const ERROR_CODES = {
  // generic
  INVALID_ARGUMENT: 'invalid',
  INVALID_NAME: 'invalid',
  INVALID_PATH: 'invalid',
  INVALID_REQUEST_BODY: 'invalid',
  UPLOAD_INCOMPLETE: 'invalid',
  INTERNAL: 'internal',
  UNAVAILABLE: 'unavailable',
  NOT_IMPLEMENTED: 'invalid',
  // pfs
  PFS_REPO_NOT_FOUND: 'notFound',
  PFS_REPO_EXISTS: 'conflict',
  PFS_REPO_NOT_EMPTY: 'precondition',
  PFS_REPO_HAS_DEPENDENTS: 'precondition',
  PFS_BRANCH_NOT_FOUND: 'notFound',
  PFS_BRANCH_HAS_DEPENDENTS: 'precondition',
  PFS_COMMIT_NOT_FOUND: 'notFound',
  PFS_COMMIT_FINISHED: 'precondition',
  PFS_COMMIT_NOT_FINISHED: 'precondition',
  PFS_COMMIT_NOT_HEAD: 'precondition',
  PFS_COMMIT_HAS_DEPENDENTS: 'precondition',
  PFS_FILE_NOT_FOUND: 'notFound',
  PFS_PATH_CONFLICT: 'conflict',
  PFS_UPLOAD_NOT_FOUND: 'notFound',
  PFS_TAR_INVALID: 'invalid',
  PFS_CORRUPT: 'internal',
  // pps
  PPS_SPEC_INVALID: 'invalid',
  PPS_SPEC_SYNTAX: 'invalid',
  PPS_PIPELINE_NOT_FOUND: 'notFound',
  PPS_PIPELINE_EXISTS: 'conflict',
  PPS_JOB_NOT_FOUND: 'notFound',
  PPS_DATUM_NOT_FOUND: 'notFound',
  PPS_EXECUTOR_UNAVAILABLE: 'unavailable',
  PPS_CONNECTOR_FAILED: 'unavailable',
  // auth
  AUTH_TOKEN_MISSING: 'unauthenticated',
  AUTH_TOKEN_INVALID: 'unauthenticated',
  AUTH_TOKEN_EXPIRED: 'unauthenticated',
  AUTH_PERMISSION_DENIED: 'forbidden',
  AUTH_NOT_ACTIVATED: 'precondition',
  AUTH_ALREADY_ACTIVATED: 'conflict',
  // client side
  CLIENT_CONNECTION_FAILED: 'unavailable',
  CLIENT_CONFIG_INVALID: 'invalid',
} as const satisfies Record<string, Category>;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorDetails = Record<string, unknown>;

/** The JSON body of every failed HTTP response. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: ErrorDetails; requestId?: string };
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.details = options.details;
  }

  get category(): Category {
    return categoryOf(this.code);
  }

  get status(): number {
    return CATEGORIES[this.category].status;
  }

  get exitCode(): number {
    return CATEGORIES[this.category].exitCode;
  }

  get retryable(): boolean {
    return CATEGORIES[this.category].retryable;
  }

  toBody(requestId?: string): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    if (requestId !== undefined) error.requestId = requestId;
    return { error };
  }

  /** Rebuild an error from a wire body (used by the SDK). Unknown codes become INTERNAL. */
  static fromBody(body: unknown, fallbackMessage: string): SluiceError {
    if (typeof body === 'object' && body !== null && 'error' in body) {
      const e = (body as { error: unknown }).error;
      if (typeof e === 'object' && e !== null) {
        const rec = e as Record<string, unknown>;
        const code = typeof rec.code === 'string' && isErrorCode(rec.code) ? rec.code : 'INTERNAL';
        const message = typeof rec.message === 'string' ? rec.message : fallbackMessage;
        const details = typeof rec.details === 'object' && rec.details !== null ? (rec.details as ErrorDetails) : undefined;
        return new SluiceError(code, message, details === undefined ? {} : { details });
      }
    }
    return new SluiceError('INTERNAL', fallbackMessage);
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

export function categoryOf(code: ErrorCode): Category {
  return ERROR_CODES[code];
}

export function isSluiceError(err: unknown, code?: ErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}

/** Wrap a foreign error at a boundary, keeping it as `cause`. SluiceErrors pass through. */
export function wrapError(err: unknown, code: ErrorCode, message: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new SluiceError(code, `${message}: ${why}`, { cause: err });
}
