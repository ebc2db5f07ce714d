/**
 * Small helpers shared by the route plugins: reading typed query parameters and bodies with
 * clear INVALID_ARGUMENT errors.
 */
import { SluiceError } from '../../errors/index.js';

export type Query = Record<string, string | undefined>;

export function qStr(q: unknown, name: string): string | undefined {
  const v = (q as Query | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
}

export function qReq(q: unknown, name: string): string {
  const v = qStr(q, name);
  if (v === undefined || v === '') throw new SluiceError('INVALID_ARGUMENT', `query parameter "${name}" is required`);
  return v;
}

export function qBool(q: unknown, name: string): boolean {
  const v = qStr(q, name);
  return v === 'true' || v === '1' || v === '';
}

export function qInt(q: unknown, name: string): number | undefined {
  const v = qStr(q, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new SluiceError('INVALID_ARGUMENT', `query parameter "${name}" must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/** The JSON body as an object, or an INVALID_REQUEST_BODY error. */
export function body<T>(b: unknown): T {
  if (b === undefined || b === null) return {} as T;
  if (typeof b !== 'object' || Array.isArray(b)) throw new SluiceError('INVALID_REQUEST_BODY', 'request body must be a JSON object');
  return b as T;
}

export function reqString(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== 'string' || v === '') throw new SluiceError('INVALID_REQUEST_BODY', `field "${name}" must be a non-empty string`);
  return v;
}

export function optString(obj: Record<string, unknown>, name: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SluiceError('INVALID_REQUEST_BODY', `field "${name}" must be a string`);
  return v;
}
