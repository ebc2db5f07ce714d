/**
 * Pachyderm's glob patterns, with their capture groups: a compiler from a pattern to a
 * JavaScript RegExp that matches whole paths, the captures of a path, and the `$1`-style
 * templates of `join_on` / `group_by`.
 *
 * Pachyderm compiles globs with its ohmyglob library (gobwas/glob's syntax plus extglob
 * captures, turned into a backtracking regex). picomatch cannot stand in: it makes every `*`
 * a group of its own, so `$1` would not name the group the user wrote. The syntax accepted here
 * is ohmyglob's:
 *
 * - `*` any run of characters except `/`; `**` any run of characters, `/` included;
 *   `?` one character except `/`;
 * - `[abc]`, `[a-z]`, `[!abc]` character classes (a negated class may match `/`, as in
 *   ohmyglob); `\c` the character c;
 * - `{a,b,c}` alternatives (not captured);
 * - captures, numbered by their opening parenthesis from 1: `(a|b)` and `@(a|b)` one of the
 *   alternatives, `*(…)` zero or more, `+(…)` one or more, `?(…)` zero or one, `!(…)` anything
 *   (without `/`) that does not start with one of them — anchored at the end when nothing
 *   follows, as ohmyglob does;
 * - `@`, `!`, `+` not followed by `(` are plain characters, and so are `)`, `|`, `}` and `,`
 *   outside the construct they close or separate.
 *
 * Templates (`replace`): `$n` or `${n}` is capture n (`$0` the whole path), `$$` is `$`, a `$`
 * not followed by a number is itself, and a capture that does not exist (or did not take part in
 * the match) is empty. A path the pattern does not match gives every capture empty, so the
 * template's literal text alone; Pachyderm's own glob lister only hands matching paths over.
 */
import { SluiceError } from '../errors/index.js';

export interface PachGlob {
  readonly pattern: string;
  /** Anchored at both ends; `s` flag, so `**` crosses newlines too. */
  readonly regex: RegExp;
  /** How many capture groups the pattern has. */
  readonly groups: number;
  match(path: string): boolean;
  /** `[whole, $1, $2, …]` (non-participating groups as ''), or undefined when `path` does not match. */
  capture(path: string): string[] | undefined;
  /** `template` with `$n` replaced by the captures of `path`. */
  replace(path: string, template: string): string;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'any' }
  | { kind: 'super' }
  | { kind: 'single' }
  | { kind: 'class'; not: boolean; body: string }
  | { kind: 'anyOf'; alts: Node[][] }
  | { kind: 'capture'; quantifier: '@' | '*' | '+' | '?' | '!'; alts: Node[][] };

/** What closes or separates the construct being parsed. */
type Context = 'top' | 'terms' | 'capture';

function syntaxError(pattern: string, why: string): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', `invalid glob pattern ${JSON.stringify(pattern)}: ${why}`, { details: { glob: pattern } });
}

class Parser {
  private pos = 0;
  groups = 0;

  constructor(private readonly src: string) {}

  parse(): Node[] {
    const out = this.sequence('top');
    if (this.pos < this.src.length) throw syntaxError(this.src, `unexpected ${JSON.stringify(this.src[this.pos])} at ${this.pos}`);
    return out;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  /** Nodes until the end, or until a character that ends or separates `ctx` (not consumed). */
  private sequence(ctx: Context): Node[] {
    const out: Node[] = [];
    let text = '';
    const flush = (): void => {
      if (text !== '') out.push({ kind: 'text', text });
      text = '';
    };
    for (;;) {
      const c = this.peek();
      if (c === undefined) break;
      if (ctx === 'terms' && (c === ',' || c === '}')) break;
      if (ctx === 'capture' && (c === '|' || c === ')')) break;
      const next = this.peek(1);
      if (c === '\\') {
        if (next === undefined) throw syntaxError(this.src, 'it ends with an unfinished escape "\\"');
        text += next;
        this.pos += 2;
        continue;
      }
      if (c === '*' && next === '*') {
        flush();
        out.push({ kind: 'super' });
        this.pos += 2;
        continue;
      }
      if ((c === '*' || c === '?' || c === '@' || c === '!' || c === '+') && next === '(') {
        flush();
        this.pos += 2;
        out.push(this.capture(c));
        continue;
      }
      if (c === '(') {
        flush();
        this.pos += 1;
        out.push(this.capture('@'));
        continue;
      }
      if (c === '*') {
        flush();
        out.push({ kind: 'any' });
        this.pos += 1;
        continue;
      }
      if (c === '?') {
        flush();
        out.push({ kind: 'single' });
        this.pos += 1;
        continue;
      }
      if (c === '[') {
        flush();
        out.push(this.charClass());
        continue;
      }
      if (c === '{') {
        flush();
        this.pos += 1;
        out.push({ kind: 'anyOf', alts: this.alternatives('terms', ',', '}') });
        continue;
      }
      text += c;
      this.pos += 1;
    }
    flush();
    return out;
  }

  private capture(quantifier: '@' | '*' | '+' | '?' | '!'): Node {
    // Groups are numbered by their opening parenthesis, before the ones nested inside.
    this.groups++;
    return { kind: 'capture', quantifier, alts: this.alternatives('capture', '|', ')') };
  }

  private alternatives(ctx: Context, sep: string, close: string): Node[][] {
    const alts: Node[][] = [];
    for (;;) {
      alts.push(this.sequence(ctx));
      const c = this.peek();
      if (c === sep) {
        this.pos += 1;
        continue;
      }
      if (c === close) {
        this.pos += 1;
        return alts;
      }
      throw syntaxError(this.src, `${JSON.stringify(ctx === 'terms' ? '{' : '(')} is not closed by ${JSON.stringify(close)}`);
    }
  }

  private charClass(): Node {
    const start = this.pos;
    this.pos += 1; // [
    let not = false;
    if (this.peek() === '!') {
      not = true;
      this.pos += 1;
    }
    let body = '';
    let count = 0;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw syntaxError(this.src, `the character class at ${start} is not closed by "]"`);
      if (c === ']' && count > 0) {
        this.pos += 1;
        break;
      }
      let ch = c;
      if (c === '\\') {
        const e = this.peek(1);
        if (e === undefined) throw syntaxError(this.src, 'it ends with an unfinished escape "\\"');
        ch = e;
        this.pos += 1;
      }
      this.pos += 1;
      count++;
      if (this.peek() === '-' && this.peek(1) !== undefined && this.peek(1) !== ']') {
        let hi = this.peek(1)!;
        this.pos += 2;
        if (hi === '\\') {
          const e = this.peek();
          if (e === undefined) throw syntaxError(this.src, 'it ends with an unfinished escape "\\"');
          hi = e;
          this.pos += 1;
        }
        if (hi < ch) throw syntaxError(this.src, `hi character ${JSON.stringify(hi)} should be greater than lo ${JSON.stringify(ch)}`);
        body += `${escapeClass(ch)}-${escapeClass(hi)}`;
      } else {
        body += escapeClass(ch);
      }
    }
    return { kind: 'class', not, body };
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function escapeClass(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}

const NOT_SEP = '[^/]';
/** Markers, as in ohmyglob: where a negation may need `$`, and what counts as something following it. */
const NEG_CLOSE = '\uffff';
const BOUNDARY = '\ufffe';

function compileNodes(nodes: readonly Node[]): string {
  let re = nodes.map(compileNode).join('');
  // Only the last negation of a sequence keeps its marker (ohmyglob's rule).
  const marks = re.split(NEG_CLOSE).length - 1;
  for (let i = 0; i < marks - 1; i++) re = re.replace(NEG_CLOSE, '');
  return re;
}

function compileNode(n: Node): string {
  switch (n.kind) {
    case 'text':
      return escapeRegex(n.text) + BOUNDARY;
    case 'any':
      return `${NOT_SEP}*${BOUNDARY}`;
    case 'super':
      return `.*${BOUNDARY}`;
    case 'single':
      return NOT_SEP;
    case 'class':
      return `[${n.not ? '^' : ''}${n.body}]`;
    case 'anyOf':
      return `(?:${n.alts.map(compileNodes).join('|')})`;
    case 'capture': {
      const body = n.alts.map(compileNodes).join('|');
      switch (n.quantifier) {
        case '@':
          return `(${body})`;
        case '*':
          return `((?:${body})*)`;
        case '+':
          return `((?:${body})+)`;
        case '?':
          return `((?:${body})?)`;
        case '!':
          return `((?:(?!(?:${body}${NEG_CLOSE}))${NOT_SEP}*))`;
      }
    }
  }
}

/** Compiles a Pachyderm glob; throws INVALID_ARGUMENT naming the pattern when it is malformed. */
export function compileGlob(pattern: string): PachGlob {
  const parser = new Parser(pattern);
  const nodes = parser.parse();
  let source = compileNodes(nodes);
  const neg = source.indexOf(NEG_CLOSE);
  if (neg >= 0) {
    // A negation followed by something that matches text is not anchored; one at the end is.
    const followed = source.slice(neg + 1).includes(BOUNDARY);
    source = source.split(NEG_CLOSE).join(followed ? '' : '$');
  }
  source = source.split(BOUNDARY).join('');
  const regex = new RegExp(`^${source}$`, 's');
  const groups = parser.groups;
  const capture = (path: string): string[] | undefined => {
    const m = regex.exec(path);
    return m === null ? undefined : Array.from(m, (s) => s ?? '');
  };
  return {
    pattern,
    regex,
    groups,
    match: (path) => regex.test(path),
    capture,
    replace: (path, template) => expandTemplate(capture(path) ?? [], template),
  };
}

/** ohmyglob's template expansion: `$n`, `${n}`, `$$`; see the module comment. */
export function expandTemplate(captures: readonly string[], template: string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const m = /^\$(?:(\d+)|\{(\d+)\})/.exec(template.slice(i));
    if (m === null) {
      out += '$';
      i++;
      continue;
    }
    const digits = m[1] ?? m[2] ?? '';
    // Go's expand refuses leading zeros (the number is then no group at all).
    const n = digits.length > 1 && digits.startsWith('0') ? -1 : Number(digits);
    if (n >= 0 && n < captures.length) out += captures[n] ?? '';
    i += m[0].length;
  }
  return out;
}

/**
 * The pattern cut at every `/` that is outside a class, a `{…}` and a capture (escapes kept), or
 * undefined when a `/` sits inside one of them (then only whole paths can be matched). The
 * leading `/` gives no empty first segment.
 */
export function globSegments(pattern: string): string[] | undefined {
  const segs: string[] = [];
  let cur = '';
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      cur += c + pattern[i + 1]!;
      i++;
      continue;
    }
    if (inClass) {
      if (c === '/') return undefined;
      if (c === ']' && !cur.endsWith('[') && !cur.endsWith('[!')) inClass = false;
      cur += c;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(' || c === '{') depth++;
    else if ((c === ')' || c === '}') && depth > 0) depth--;
    if (c === '/') {
      if (depth > 0) return undefined;
      if (cur !== '') segs.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur !== '') segs.push(cur);
  return segs;
}

/** Whether a segment (from `globSegments`) is a plain name, with nothing to match. */
export function isLiteralSegment(seg: string): boolean {
  return !/[*?[{(\\]/.test(seg);
}
