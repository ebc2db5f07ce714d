/**
 * The CLI's output layer: tables, sizes, relative times and `--raw` JSON, formatted the way
 * pachctl 2.x prints them, so scripts written against pachctl keep working.
 *
 * - `TabWriter` aligns columns like Go's `text/tabwriter` as pachctl configures it (min width 0,
 *   padding 1, space fill) and, like pachctl's own wrapper, formats the table in blocks of 50
 *   lines, reprinting the header at the top of each block. Unlike pachctl it prints no trailing
 *   padding after the last column (pachctl terminates every cell with a tab, which leaves a
 *   trailing space on each line); the visible layout is the same.
 * - `humanSize` is Docker go-units' `BytesSize`; `relativeTime` is its `HumanDuration` + " ago".
 * - `rawLine` / `rawPretty` are the `--raw` forms: one JSON object per line for lists, indented
 *   JSON for a single object.
 */

/** Where formatted text goes (stdout in the CLI, a string buffer in tests). */
export type Sink = (text: string) => void;

export interface TabWriterOptions {
  /** Lines per block, header included (pachctl: 50). 0 means one block. */
  blockLines?: number;
  /**
   * Minimum width of each column, padding included. Useful for streamed tables (subscribe),
   * which flush every row and so cannot learn the widths from later rows.
   */
  minWidths?: readonly number[];
}

const PADDING = 1;

/** Number of characters a cell takes on a terminal (code points, as Go counts runes). */
function cellWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Cells may not break the table: tabs and newlines become spaces. */
function cleanCell(s: string): string {
  return s.replace(/[\t\r\n]/g, ' ');
}

/**
 * Formats rows of cells with Go tabwriter's column-block algorithm: a column's width is decided
 * by the run of consecutive lines that have a cell in that column. Every cell but the last of a
 * line is padded; the last one is printed as it is.
 */
export function formatTable(lines: readonly (readonly string[])[], minWidths: readonly number[] = []): string {
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const line = lines[i] ?? [];
      let text = '';
      for (let j = 0; j < line.length; j++) {
        const cell = line[j] ?? '';
        const w = widths[j];
        if (j < line.length - 1 && w !== undefined) text += cell + ' '.repeat(Math.max(0, w - cellWidth(cell)));
        else text += cell;
      }
      out.push(text.replace(/ +$/, ''));
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      const line = lines[i] ?? [];
      if (column >= line.length - 1) continue;
      // Line i opens a block of lines that all have a cell in this column.
      writeLines(line0, i);
      line0 = i;
      let width = minWidths[column] ?? 0;
      for (; i < line1; i++) {
        const l = lines[i] ?? [];
        if (column >= l.length - 1) break;
        width = Math.max(width, cellWidth(l[column] ?? '') + PADDING);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      // Line i (if any) ended the block because it has no cell here; the loop's i++ skips it.
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.map((l) => l + '\n').join('');
}

/** A table writer: header first, rows buffered and aligned, flushed in blocks. */
export class TabWriter {
  private buffered: string[][] = [];
  private lines = 0;
  private readonly blockLines: number;
  private readonly minWidths: readonly number[];

  constructor(private readonly sink: Sink, private readonly header: readonly string[], opts: TabWriterOptions = {}) {
    this.blockLines = opts.blockLines ?? 50;
    this.minWidths = opts.minWidths ?? [];
    this.push(header);
  }

  row(cells: readonly string[]): void {
    if (this.blockLines > 0 && this.lines >= this.blockLines) {
      this.flush();
      this.push(this.header);
    }
    this.push(cells);
  }

  /** Writes what is buffered. The header is not repeated by a flush alone. */
  flush(): void {
    if (this.buffered.length > 0) this.sink(formatTable(this.buffered, this.minWidths));
    this.buffered = [];
    this.lines = 0;
  }

  private push(cells: readonly string[]): void {
    this.buffered.push(cells.map(cleanCell));
    this.lines++;
  }
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/** Go's `%.4g`: four significant digits, trailing zeros dropped. */
function fourSignificant(n: number): string {
  let s = n.toPrecision(4);
  if (s.includes('e')) {
    const [mant = '', exp = ''] = s.split('e');
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** Bytes as Docker go-units `BytesSize`: base 1024, up to four significant digits (`1.5KiB`). */
export function humanSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${fourSignificant(size)}${BINARY_UNITS[i] ?? 'B'}`;
}

/** Docker go-units `HumanDuration`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** `2 minutes ago`, as pachctl's `pretty.Ago`. */
export function relativeTime(ms: number, now: number = Date.now()): string {
  return `${humanDuration(now - ms)} ago`;
}

/** One JSON object per line (`--raw` for lists). */
export function rawLine(value: unknown): string {
  return JSON.stringify(value) + '\n';
}

/** Indented JSON (`--raw` for inspect). */
export function rawPretty(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** A `Key: value` block as pachctl's inspect commands print it; undefined values are left out. */
export function detailBlock(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  return fields
    .filter((f): f is readonly [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
}
