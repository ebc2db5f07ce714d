/**
 * Reads pipeline spec files the way `pachctl create pipeline -f` does, in every style the
 * Pachyderm examples use (see `../shared/pachyderm-specs/README.md`):
 * - one JSON object, or several concatenated (1.x style, whitespace between);
 * - documents separated by `---` lines, each JSON or YAML (2.x style);
 * - YAML generally (JSON is YAML, but see below);
 * - snake_case and lowerCamelCase field names at every level, 64-bit integers as strings.
 *
 * A document whose first significant character is `{` or `[` is read as strict JSON, so a
 * malformed JSON spec is reported as JSON (exact line and column of the fault, what was
 * expected there) rather than reinterpreted as YAML flow syntax, where a missing comma can
 * silently produce a different document. Anything else is YAML (the `yaml` package, YAML 1.2
 * core schema: `yes`/`no` are strings, duplicate keys are errors).
 *
 * Unknown fields are errors, not warnings; see decode.ts for that decision and for the few
 * leniencies (each produces a warning naming the field and its position).
 *
 * Errors: PPS_SPEC_SYNTAX, message `malformed pipeline spec: <file>:<line>:<col>: <what>`,
 * `details` = { file?, line, column, field?, document? }. A file is refused whole: if any
 * document is malformed, no spec is returned (nothing half-created).
 *
 * Parsing does not validate (see validate.ts) and does not apply defaults (defaults.ts).
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { type SpecWarning, decodePipelineSpec } from './decode.js';
import { scanJsonValues } from './json-scanner.js';
import { LineIndex, type SourceEntry, type SourceNode, malformed, toPlain, where } from './source.js';
import type { ParsedSpec, SpecPosition } from './types.js';

export interface ParseOptions {
  /** Shown in messages and error details; `<input>` when absent. */
  file?: string;
}

/** Parses every pipeline spec in `text`. Throws PPS_SPEC_SYNTAX (see the module header). */
export function parseSpecs(text: string, opts: ParseOptions = {}): ParsedSpec[] {
  // A byte-order mark is not content; dropping it keeps columns as editors show them.
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineIndex(src);
  const out: ParsedSpec[] = [];
  for (const seg of segments(src)) {
    const first = firstSignificant(src, seg.start, seg.end);
    if (first === -1) continue;
    const c = src[first];
    const docs =
      c === '{' || c === '['
        ? scanJsonValues(src, first, seg.end, lines, { ...opts, firstDocument: out.length }).map((root) => ({ root, warnings: [] as SpecWarning[] }))
        : readYaml(src, seg.start, seg.end, lines, opts, out.length);
    for (const { root, warnings } of docs) {
      const positions = new Map<string, SpecPosition>();
      const ctx = { document: out.length, warnings: [...warnings], positions, ...(opts.file === undefined ? {} : { file: opts.file }) };
      const spec = decodePipelineSpec(root, ctx);
      out.push({
        spec,
        // In text order, whatever order the decoder noticed them in.
        warnings: ctx.warnings.sort((a, b) => a.offset - b.offset).map((w) => w.message),
        raw: toPlain(root),
        source: { ...(opts.file === undefined ? {} : { file: opts.file }), index: out.length, line: root.pos.line },
        positions,
      });
    }
  }
  if (out.length === 0) throw malformed(opts.file, lines.pos(0), 'no pipeline spec found (only whitespace, comments or document markers)');
  return out;
}

/**
 * Parses a spec that arrived as a JSON value rather than text (an HTTP body, an SDK call).
 * Positions in messages refer to the value printed as indented JSON.
 */
export function parseSpecValue(value: unknown, opts: ParseOptions = {}): ParsedSpec {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw malformed(opts.file, { offset: 0, line: 1, column: 1 }, 'a pipeline spec must be an object');
  const specs = parseSpecs(text, opts);
  const [only] = specs;
  if (only === undefined || specs.length !== 1) throw malformed(opts.file, { offset: 0, line: 1, column: 1 }, 'expected exactly one pipeline spec');
  return only;
}

/**
 * Splits the text at `---` document markers (a line starting with `---` then a space, a tab or
 * the end of the line). JSON strings cannot hold a line break and YAML forbids such a line
 * inside any scalar, so a marker line is never content.
 */
function segments(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const marker = /^---(?=[ \t\r\n]|$)/gm;
  let start = 0;
  for (let m = marker.exec(text); m !== null; m = marker.exec(text)) {
    out.push({ start, end: m.index });
    start = m.index + 3;
  }
  out.push({ start, end: text.length });
  return out;
}

/** Offset of the first character that is not whitespace (a `#` comment counts: it means YAML). */
function firstSignificant(text: string, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const c = text[i];
    if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return i;
  }
  return -1;
}

function readYaml(
  text: string,
  start: number,
  end: number,
  lines: LineIndex,
  opts: ParseOptions,
  firstDocument: number,
): { root: SourceNode; warnings: SpecWarning[] }[] {
  const docs = parseAllDocuments(text.slice(start, end), { intAsBigInt: true, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  const out: { root: SourceNode; warnings: SpecWarning[] }[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err !== undefined) {
      throw malformed(opts.file, lines.pos(start + err.pos[0]), yamlMessage(err.message), { document: firstDocument + out.length, cause: err });
    }
    if (doc.contents === null) continue;
    const warnings = doc.warnings.map((w) => {
      const pos = lines.pos(start + w.pos[0]);
      return { offset: pos.offset, message: `${where(opts.file, pos)}: ${yamlMessage(w.message)}` };
    });
    const root = new YamlConverter(doc, start, lines, opts, firstDocument + out.length).node(doc.contents, 0);
    if (root.kind === 'null') continue;
    out.push({ root, warnings });
  }
  return out;
}

function yamlMessage(message: string): string {
  // The yaml package appends a source excerpt after a blank line; the position says enough.
  const [head] = message.split('\n');
  return `YAML: ${head ?? message}`;
}

/** Converts the `yaml` package's nodes into positioned SourceNodes (offsets are file-wide). */
class YamlConverter {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly base: number,
    private readonly lines: LineIndex,
    private readonly opts: ParseOptions,
    private readonly document: number,
  ) {}

  private at(range: readonly number[] | null | undefined, fallback: number): ReturnType<LineIndex['pos']> {
    return this.lines.pos(this.base + (range?.[0] ?? fallback));
  }

  node(node: unknown, depth: number, fallback = 0): SourceNode {
    if (depth > 256) throw malformed(this.opts.file, this.lines.pos(this.base + fallback), 'YAML: nesting too deep (or an alias cycle)');
    if (isAlias(node)) {
      return this.node(node.resolve(this.doc), depth + 1, node.range?.[0] ?? fallback);
    }
    if (isMap(node)) {
      const pos = this.at(node.range, fallback);
      const entries: SourceEntry[] = [];
      const seen = new Set<string>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (!isScalar(keyNode)) {
          const kp = isMap(keyNode) || isSeq(keyNode) ? this.at(keyNode.range, pos.offset - this.base) : pos;
          throw malformed(this.opts.file, kp, 'YAML: mapping keys must be plain scalars', { document: this.document });
        }
        const key = keyNode.value === null ? '' : String(keyNode.value);
        const keyPos = this.at(keyNode.range, pos.offset - this.base);
        if (seen.has(key)) throw malformed(this.opts.file, keyPos, `duplicate field ${JSON.stringify(key)}`, { document: this.document });
        seen.add(key);
        const keyEnd = keyNode.range?.[1] ?? keyPos.offset - this.base;
        const value: SourceNode =
          pair.value === null || pair.value === undefined
            ? { kind: 'null', pos: this.lines.pos(this.base + keyEnd) }
            : this.node(pair.value, depth + 1, keyEnd);
        entries.push({ key, keyPos, value });
      }
      return { kind: 'object', pos, entries };
    }
    if (isSeq(node)) {
      const pos = this.at(node.range, fallback);
      return { kind: 'array', pos, items: node.items.map((item) => this.node(item, depth + 1, pos.offset - this.base)) };
    }
    if (isScalar(node)) {
      const pos = this.at(node.range, fallback);
      const v: unknown = node.value;
      if (v === null || v === undefined) return { kind: 'null', pos };
      if (typeof v === 'string') return { kind: 'string', pos, value: v };
      if (typeof v === 'boolean') return { kind: 'bool', pos, value: v };
      if (typeof v === 'bigint') return { kind: 'number', pos, value: Number(v), raw: v.toString() };
      if (typeof v === 'number') return { kind: 'number', pos, value: v, raw: String(v) };
      return { kind: 'string', pos, value: String(v) };
    }
    return { kind: 'null', pos: this.lines.pos(this.base + fallback) };
  }
}
