/**
 * Output of the benchmarks: Markdown tables (printed to the console as they are, since Markdown
 * tables read well as text) and the generated blocks of BENCHMARKS.md.
 *
 * BENCHMARKS.md mixes generated and hand-written text. Each benchmark owns two generated blocks,
 * fenced by HTML comments: `results` (figures, machine, date), replaced by every full-size run,
 * and `profile` (where the daemon spent its time), replaced only by a profiled run. Everything
 * outside the fences (the analysis) is left alone. A block that does not exist yet is appended,
 * under the benchmark's heading.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { BENCHMARKS_MD } from './paths.js';

export type BlockKind = 'results' | 'profile';

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string {
  const a = headers.map((_, i) => (align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---');
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(headers), `|${a.join('|')}|`, ...rows.map(line)].join('\n');
}

function fence(name: string, kind: BlockKind): { begin: string; end: string } {
  return { begin: `<!-- bench:${name}:${kind} -->`, end: `<!-- /bench:${name}:${kind} -->` };
}

const HEADER = `# Benchmarks

Generated blocks are written by \`npm run bench\` (\`node dist/bench/run.js [name]\`); the analysis
around them is written by hand.
`;

/** Replaces (or adds) one generated block of BENCHMARKS.md. */
export async function writeBlock(name: string, heading: string, kind: BlockKind, body: string, file = BENCHMARKS_MD): Promise<void> {
  let text = existsSync(file) ? await readFile(file, 'utf8') : HEADER;
  const { begin, end } = fence(name, kind);
  const block = `${begin}\n${body.trim()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else if (kind === 'profile' && text.includes(fence(name, 'results').end)) {
    const after = fence(name, 'results').end;
    const k = text.indexOf(after) + after.length;
    text = `${text.slice(0, k)}\n\n${block}${text.slice(k)}`;
  } else {
    text = `${text.trimEnd()}\n\n## ${heading}\n\n${block}\n`;
  }
  await writeFile(file, text);
}
