/**
 * A strict JSON reader (RFC 8259) that keeps positions and reads several values in a row.
 *
 * Why not `JSON.parse`: a spec file may hold several concatenated objects (the 1.x style,
 * whitespace between), and every later diagnostic (unknown field, wrong type, validation
 * error) must name a line and column, which `JSON.parse` does not give. This scanner accepts
 * exactly what `JSON.parse` accepts for one value (the tests check that on the corpus) and
 * reports the first fault at its exact line and column, with a message that says what was
 * expected and what was found there.
 *
 * Duplicate keys are refused (`JSON.parse` keeps the last one silently; protobuf's JSON
 * reader refuses them too).
 */
import { type LineIndex, type SourceEntry, type SourceNode, type SourcePos, malformed } from './source.js';

const MAX_DEPTH = 256;

export interface ScanOptions {
  file?: string;
  /** Index of the first spec of this segment in the whole file (for error details). */
  firstDocument?: number;
}

/**
 * Reads every JSON value in `text[start, end)`. The first significant character must begin a
 * value; after each value only whitespace or the start of another object or array may follow.
 */
export function scanJsonValues(text: string, start: number, end: number, lines: LineIndex, opts: ScanOptions = {}): SourceNode[] {
  const scanner = new JsonScanner(text, start, end, lines, opts);
  return scanner.all();
}

class JsonScanner {
  private i: number;

  constructor(
    private readonly text: string,
    start: number,
    private readonly end: number,
    private readonly lines: LineIndex,
    private readonly opts: ScanOptions,
  ) {
    this.i = start;
  }

  all(): SourceNode[] {
    const out: SourceNode[] = [];
    this.skipWs();
    while (this.i < this.end) {
      if (out.length > 0) {
        const c = this.text[this.i];
        if (c !== '{' && c !== '[') {
          throw this.fail(this.i, `expected '{' to begin another pipeline spec or the end of the input, found ${this.found(this.i)}`);
        }
      }
      out.push(this.value(0));
      this.skipWs();
    }
    return out;
  }

  private pos(offset: number): SourcePos {
    return this.lines.pos(offset);
  }

  private fail(offset: number, what: string): Error {
    return malformed(this.opts.file, this.pos(offset), what);
  }

  /** Describes the character at `offset` for messages: `'x'`, `end of input`, `U+0009`. */
  private found(offset: number): string {
    if (offset >= this.end) return 'the end of the input';
    const code = this.text.codePointAt(offset) ?? 0;
    if (code < 0x20 || code === 0x7f) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return `'${String.fromCodePoint(code)}'`;
  }

  private skipWs(): void {
    while (this.i < this.end) {
      const c = this.text.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(depth: number): SourceNode {
    if (depth > MAX_DEPTH) throw this.fail(this.i, `nesting deeper than ${MAX_DEPTH} levels`);
    const start = this.i;
    const c = this.text[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return { kind: 'string', pos: this.pos(start), value: this.string() };
      case 't':
        return this.literal('true', { kind: 'bool', pos: this.pos(start), value: true });
      case 'f':
        return this.literal('false', { kind: 'bool', pos: this.pos(start), value: false });
      case 'n':
        return this.literal('null', { kind: 'null', pos: this.pos(start) });
      default:
        if (c === '-' || this.isDigit(this.i)) return this.number();
        if (c === "'") throw this.fail(start, "strings must use double quotes (\"), found '");
        throw this.fail(start, `expected a value, found ${this.found(start)}`);
    }
  }

  private literal(word: string, node: SourceNode): SourceNode {
    if (this.text.startsWith(word, this.i) && this.i + word.length <= this.end) {
      this.i += word.length;
      return node;
    }
    let j = this.i;
    while (j < this.end && /[A-Za-z0-9_]/.test(this.text[j] ?? '')) j++;
    const got = this.text.slice(this.i, Math.max(j, this.i + 1));
    throw this.fail(this.i, `expected a value, found ${JSON.stringify(got)} (did you mean ${word}?)`);
  }

  private isDigit(j: number): boolean {
    if (j >= this.end) return false;
    const c = this.text.charCodeAt(j);
    return c >= 0x30 && c <= 0x39;
  }

  private number(): SourceNode {
    const start = this.i;
    const t = this.text;
    let j = this.i;
    if (t[j] === '-') j++;
    if (t[j] === '0' && j < this.end) {
      j++;
      if (this.isDigit(j)) throw this.fail(start, 'numbers cannot have leading zeros');
    } else if (this.isDigit(j)) {
      while (this.isDigit(j)) j++;
    } else {
      throw this.fail(j, `expected a digit after '-', found ${this.found(j)}`);
    }
    if (t[j] === '.' && j < this.end) {
      j++;
      if (!this.isDigit(j)) throw this.fail(j, `expected a digit after the decimal point, found ${this.found(j)}`);
      while (this.isDigit(j)) j++;
    }
    if ((t[j] === 'e' || t[j] === 'E') && j < this.end) {
      j++;
      if ((t[j] === '+' || t[j] === '-') && j < this.end) j++;
      if (!this.isDigit(j)) throw this.fail(j, `expected a digit in the exponent, found ${this.found(j)}`);
      while (this.isDigit(j)) j++;
    }
    const raw = t.slice(start, j);
    this.i = j;
    return { kind: 'number', pos: this.pos(start), value: Number(raw), raw };
  }

  /** Reads a string starting at the opening quote; leaves `i` after the closing quote. */
  private string(): string {
    const open = this.i;
    const t = this.text;
    let j = this.i + 1;
    let out = '';
    let chunk = j;
    for (;;) {
      if (j >= this.end) throw this.fail(open, 'unterminated string (no closing ")');
      const c = t.charCodeAt(j);
      if (c === 0x22) {
        out += t.slice(chunk, j);
        this.i = j + 1;
        return out;
      }
      if (c === 0x0a || c === 0x0d) throw this.fail(open, 'unterminated string (a line break before the closing ")');
      if (c < 0x20) throw this.fail(j, `control character ${this.found(j)} must be escaped inside a string`);
      if (c !== 0x5c) {
        j++;
        continue;
      }
      out += t.slice(chunk, j);
      const e = t[j + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          j += 2;
          break;
        case 'b':
          out += '\b';
          j += 2;
          break;
        case 'f':
          out += '\f';
          j += 2;
          break;
        case 'n':
          out += '\n';
          j += 2;
          break;
        case 'r':
          out += '\r';
          j += 2;
          break;
        case 't':
          out += '\t';
          j += 2;
          break;
        case 'u': {
          const hex = t.slice(j + 2, j + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex) || j + 6 > this.end) throw this.fail(j, 'bad \\u escape: expected four hex digits');
          out += String.fromCharCode(parseInt(hex, 16));
          j += 6;
          break;
        }
        default:
          throw this.fail(j, `bad escape \\${e === undefined || j + 1 >= this.end ? '' : e} in string`);
      }
      chunk = j;
    }
  }

  private object(depth: number): SourceNode {
    const open = this.i;
    const entries: SourceEntry[] = [];
    const seen = new Set<string>();
    this.i++;
    this.skipWs();
    if (this.text[this.i] === '}' && this.i < this.end) {
      this.i++;
      return { kind: 'object', pos: this.pos(open), entries };
    }
    for (;;) {
      if (this.i >= this.end) throw this.unclosed(open, '{', '}');
      if (this.text[this.i] !== '"') {
        throw this.fail(this.i, `expected a double-quoted property name, found ${this.found(this.i)}`);
      }
      const keyStart = this.i;
      const key = this.string();
      if (seen.has(key)) throw this.fail(keyStart, `duplicate field ${JSON.stringify(key)}`);
      seen.add(key);
      this.skipWs();
      if (this.text[this.i] !== ':' || this.i >= this.end) {
        if (this.i >= this.end) throw this.unclosed(open, '{', '}');
        throw this.fail(this.i, `expected ':' after property name ${JSON.stringify(key)}, found ${this.found(this.i)}`);
      }
      this.i++;
      this.skipWs();
      if (this.i >= this.end) throw this.unclosed(open, '{', '}');
      const value = this.value(depth + 1);
      entries.push({ key, keyPos: this.pos(keyStart), value });
      this.skipWs();
      const c = this.text[this.i];
      if (this.i >= this.end) throw this.unclosed(open, '{', '}');
      if (c === '}') {
        this.i++;
        return { kind: 'object', pos: this.pos(open), entries };
      }
      if (c !== ',') {
        const hint = c === '"' ? ' (a missing comma?)' : '';
        throw this.fail(this.i, `expected ',' or '}' after property value, found ${this.found(this.i)}${hint}`);
      }
      const comma = this.i;
      this.i++;
      this.skipWs();
      if (this.text[this.i] === '}' && this.i < this.end) throw this.fail(comma, "trailing comma before '}' (JSON allows none)");
    }
  }

  private array(depth: number): SourceNode {
    const open = this.i;
    const items: SourceNode[] = [];
    this.i++;
    this.skipWs();
    if (this.text[this.i] === ']' && this.i < this.end) {
      this.i++;
      return { kind: 'array', pos: this.pos(open), items };
    }
    for (;;) {
      if (this.i >= this.end) throw this.unclosed(open, '[', ']');
      items.push(this.value(depth + 1));
      this.skipWs();
      if (this.i >= this.end) throw this.unclosed(open, '[', ']');
      const c = this.text[this.i];
      if (c === ']') {
        this.i++;
        return { kind: 'array', pos: this.pos(open), items };
      }
      if (c !== ',') {
        const hint = c === '"' || c === '{' || c === '[' ? ' (a missing comma?)' : '';
        throw this.fail(this.i, `expected ',' or ']' after array element, found ${this.found(this.i)}${hint}`);
      }
      const comma = this.i;
      this.i++;
      this.skipWs();
      if (this.text[this.i] === ']' && this.i < this.end) throw this.fail(comma, "trailing comma before ']' (JSON allows none)");
    }
  }

  private unclosed(open: number, o: string, c: string): Error {
    const p = this.pos(open);
    return this.fail(this.end, `unexpected end of input: '${o}' opened at ${p.line}:${p.column} is never closed with '${c}'`);
  }
}
