/**
 * The positioned syntax tree shared by the JSON scanner and the YAML reader, and the helpers
 * that turn offsets into `file:line:column` and build `malformed pipeline spec` errors.
 *
 * Promises: every node and every object key carries the offset, line and column where it
 * starts in the original text, so that the decoder can say exactly where a field is.
 */
import { SluiceError } from '../../errors/index.js';
import type { OpaqueValue } from './types.js';

export interface SourcePos {
  offset: number;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (tabs count as one column). */
  column: number;
}

export type SourceNode =
  | { kind: 'object'; pos: SourcePos; entries: SourceEntry[] }
  | { kind: 'array'; pos: SourcePos; items: SourceNode[] }
  | { kind: 'string'; pos: SourcePos; value: string }
  /** `raw` keeps the digits so that 64-bit integers are checked exactly, not after rounding. */
  | { kind: 'number'; pos: SourcePos; value: number; raw: string }
  | { kind: 'bool'; pos: SourcePos; value: boolean }
  | { kind: 'null'; pos: SourcePos };

export interface SourceEntry {
  key: string;
  keyPos: SourcePos;
  value: SourceNode;
}

/** Maps offsets of one text to lines and columns (binary search over line starts). */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      // \r\n counts once; a lone \r also ends a line, as editors show it.
      if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) this.starts.push(i + 1);
    }
  }

  pos(offset: number): SourcePos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { offset, line: lo + 1, column: offset - (this.starts[lo] ?? 0) + 1 };
  }
}

/** The label used for the text in messages when the caller gave no file name. */
export const NO_FILE_LABEL = '<input>';

export function where(file: string | undefined, pos: SourcePos): string {
  return `${file ?? NO_FILE_LABEL}:${pos.line}:${pos.column}`;
}

/** `malformed pipeline spec: <file>:<line>:<col>: <what>` as a PPS_SPEC_SYNTAX error. */
export function malformed(
  file: string | undefined,
  pos: SourcePos,
  what: string,
  extra: { field?: string; document?: number; cause?: unknown } = {},
): SluiceError {
  const details: Record<string, unknown> = { line: pos.line, column: pos.column };
  if (file !== undefined) details.file = file;
  if (extra.field !== undefined) details.field = extra.field;
  if (extra.document !== undefined) details.document = extra.document;
  return new SluiceError('PPS_SPEC_SYNTAX', `malformed pipeline spec: ${where(file, pos)}: ${what}`, {
    details,
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
  });
}

/** The node as a plain JSON value (what `ParsedSpec.raw` holds). */
export function toPlain(node: SourceNode): OpaqueValue {
  switch (node.kind) {
    case 'object': {
      const out: { [key: string]: OpaqueValue } = {};
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
    case 'array':
      return node.items.map(toPlain);
    case 'null':
      return null;
    default:
      return node.value;
  }
}

/** Describes a node's kind for type-mismatch messages ("got a number (1)"). */
export function describeNode(node: SourceNode): string {
  switch (node.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return `a string (${JSON.stringify(node.value.length > 40 ? node.value.slice(0, 37) + '...' : node.value)})`;
    case 'number':
      return `a number (${node.raw})`;
    case 'bool':
      return `a boolean (${node.value})`;
    case 'null':
      return 'null';
  }
}
