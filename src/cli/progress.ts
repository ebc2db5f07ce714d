/**
 * Progress on the terminal for long CLI operations: a transfer bar (`put file`: bytes and files,
 * rate, ETA) and a spinner with the time elapsed (`wait commit`, `wait job`). Both draw on
 * stderr, one line redrawn in place (`\r` + erase to end of line), and only when stderr is a
 * terminal: piped or redirected output gets nothing at all, so scripts see exactly what they saw
 * before. A few lines of our own rather than a dependency: what is needed is one line, and the
 * libraries that draw it bring multi-bar layouts, colour and terminal detection we do not use.
 */

/** The slice of a stream the progress line writes to (`process.stderr` fits). */
export interface ProgressOut {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** True when the stream is a terminal (a TTY), where redrawing a line makes sense. */
export function isTerminal(out: unknown): out is ProgressOut {
  return typeof out === 'object' && out !== null && (out as ProgressOut).isTTY === true;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1536` -> `1.5 KiB`: binary units, three significant digits. */
export function formatBytes(n: number): string {
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${UNITS[u]}`;
}

/** `75` -> `1m15s`; whole seconds, hours past an hour. */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

interface LineOptions {
  now?: () => number;
  /** How often the line is redrawn (default 100 ms). */
  intervalMs?: number;
}

/** One line of stderr redrawn on a timer; what the line says is the subclass's. */
abstract class LiveLine {
  protected readonly now: () => number;
  protected readonly started: number;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private done = false;

  constructor(
    private readonly out: ProgressOut,
    private readonly opts: LineOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
  }

  protected abstract line(width: number): string;

  protected startTimer(): void {
    if (this.timer !== undefined || this.done) return;
    this.timer = setInterval(() => this.draw(), this.opts.intervalMs ?? 100);
    // Progress never keeps the process alive on its own.
    this.timer.unref();
  }

  protected draw(): void {
    if (this.done) return;
    const width = this.out.columns !== undefined && this.out.columns > 20 ? this.out.columns : 80;
    // One column short of the width: a full line would wrap on some terminals and break `\r`.
    this.out.write(`\r${this.line(width - 1).slice(0, width - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Stops redrawing; `keep` leaves the last line (with a newline), otherwise erases it. */
  protected end(keep: boolean): void {
    if (this.done) return;
    clearInterval(this.timer);
    if (keep) {
      this.draw();
      this.out.write('\n');
    } else if (this.drawn) {
      this.out.write('\r\x1b[K');
    }
    this.done = true;
  }

  protected elapsedSeconds(): number {
    return (this.now() - this.started) / 1000;
  }
}

export interface TransferTotals {
  /** Bytes to send, when every source's size is known. */
  bytes?: number;
  /** Files to send, when known. */
  files?: number;
}

/**
 * `put file`'s bar: `[=======>      ]  52%  13.1 MiB/25.0 MiB  6/12 files  4.37 MiB/s  ETA 3s`.
 * Without a known total (stdin, a tar archive) it shows what has gone and the rate.
 */
export class TransferProgress extends LiveLine {
  private bytes = 0;
  private files = 0;

  private readonly label: string;

  constructor(
    out: ProgressOut,
    private readonly totals: TransferTotals,
    opts: LineOptions & { label?: string } = {},
  ) {
    super(out, opts);
    this.label = opts.label ?? '';
  }

  /** Draws from now on. */
  start(): this {
    this.draw();
    this.startTimer();
    return this;
  }

  addBytes(n: number): void {
    this.bytes += n;
  }

  fileDone(): void {
    this.files++;
  }

  /** Leaves the final line on the terminal (it says how far the transfer got). */
  finish(): void {
    this.end(true);
  }

  protected line(width: number): string {
    const secs = this.elapsedSeconds();
    const rate = secs > 0 ? this.bytes / secs : 0;
    const total = this.totals.bytes;
    const parts: string[] = [];
    let pct: string | undefined;
    if (total !== undefined) {
      const frac = total === 0 ? 1 : Math.min(1, this.bytes / total);
      pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
      parts.push(`${formatBytes(this.bytes)}/${formatBytes(total)}`);
    } else {
      parts.push(formatBytes(this.bytes));
    }
    parts.push(this.totals.files !== undefined ? `${this.files}/${this.totals.files} files` : `${this.files} files`);
    parts.push(`${formatBytes(rate)}/s`);
    if (total !== undefined && rate > 0 && this.bytes < total) parts.push(`ETA ${formatSeconds((total - this.bytes) / rate)}`);
    else parts.push(formatSeconds(secs));
    const tail = `${pct === undefined ? '' : ` ${pct}`}  ${parts.join('  ')}`;
    const head = this.label === '' ? '' : `${this.label} `;
    if (total === undefined) return `${head}${tail.trimStart()}`;
    // A fixed share of the line for the numbers, so the bar does not jump as they change.
    const barWidth = Math.max(10, Math.min(30, width - head.length - 62));
    const frac = total === 0 ? 1 : Math.min(1, this.bytes / total);
    const full = Math.floor(frac * barWidth);
    const bar = full >= barWidth ? '='.repeat(barWidth) : `${'='.repeat(full)}>${' '.repeat(barWidth - full - 1)}`;
    return `${head}[${bar}]${tail}`;
  }
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;

/** A spinner, what is being waited for, and the time elapsed: `⠹ waiting for commit a@master  12s`. */
export class Spinner extends LiveLine {
  private frame = 0;
  private status: string;

  constructor(out: ProgressOut, status: string, opts: LineOptions = {}) {
    super(out, opts);
    this.status = status;
  }

  start(): this {
    this.draw();
    this.startTimer();
    return this;
  }

  /** Changes the text (a job's datum counts as they move). */
  update(status: string): void {
    this.status = status;
  }

  /** Erases the line, so what the command prints next starts on a clean line. */
  stop(): void {
    this.end(false);
  }

  protected line(): string {
    const f = FRAMES[this.frame++ % FRAMES.length]!;
    return `${f} ${this.status}  ${formatSeconds(this.elapsedSeconds())}`;
  }
}
