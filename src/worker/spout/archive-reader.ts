/**
 * Splits the byte stream of a spout's `/pfs/out` pipe into complete, validated tar archives.
 *
 * Owns: block-level tar framing, header decoding (ustar, GNU, pax) and the rules that decide
 * where one archive ends and the next begins. It does not know about commits, markers or
 * uploads: it reports paths and bytes, and the caller routes them.
 *
 * Promises:
 * - An archive is complete at its end-of-archive marker (two zero blocks), or when the caller
 *   says the writer closed the pipe while the parser sits exactly on an entry boundary (a
 *   writer that closes without the trailer; Pachyderm's `getNextTarStream` accepts that, and
 *   so does a single zero block followed by the close, as Go's `archive/tar` does).
 * - Zero blocks between archives (GNU tar and Python pad each archive to a 10240-byte record)
 *   are skipped. A stretch with no header (an open/close with no data, only padding) yields no
 *   archive. A fragment shorter than one block left when a writer closes between archives is
 *   dropped (Pachyderm's SpoutHammer writes `echo "" > /pfs/out`); it is reported as
 *   `fragment-dropped` so the caller can log it. The same holds when the close was not seen
 *   (the one FIFO race, fifo-source.ts: the fragment and the next writer's archive arrive as one
 *   stream): where an archive should start, a block that is not a header is resynchronised on
 *   a ustar/GNU header at a byte offset of 1 to 511 into it, and the bytes before it are
 *   reported as `fragment-dropped`. Headers carry a checksum and a magic, so garbage is not
 *   mistaken for one; anything longer than a fragment is still refused as garbage.
 * - Every archive that starts (`archive-start`) ends with exactly one `archive-end` or one
 *   `archive-error`; an error voids everything reported since its `archive-start`. An
 *   `archive-error` may also come with no archive open (garbage between archives).
 * - Bad input is refused whole (DESIGN invariant 7), with the byte offset and the entry:
 *   - content problems (a symlink, hard link, device, FIFO or sparse entry; a name that climbs
 *     with `..`, holds a NUL or is not UTF-8) refuse the archive at the offending entry; the
 *     framing is still sound, so the rest of that archive is skipped block by block and the next
 *     archive on the stream is read normally;
 *   - framing problems (bad checksum, a garbage block, data after a single zero block, a
 *     malformed pax record, a writer that closes mid-entry) refuse the archive and everything
 *     after it until the writer closes, because no boundary after that point can be trusted.
 * - Entry bodies are streamed as views into the pushed chunks (never copied, never mutated);
 *   only header blocks and pax/GNU long-name bodies (at most `maxMetaBytes`) are buffered.
 *
 * Paths: `a`, `./a` and `/a` all name `/a` (the archive's root is the repo root; there is
 * nothing above it to escape to, and Pachyderm cleans names the same way); any `..` segment,
 * a NUL byte or invalid UTF-8 refuses the archive. `absolutePaths: 'refuse'` refuses names
 * with a leading `/` for callers that want DESIGN invariant 7's stricter reading.
 *
 * Why not `tar-stream`'s extractor: it cannot say where an archive ended in the byte stream,
 * cannot tell "the writer closed on an entry boundary" from "the writer closed mid-entry", and
 * its pax decoder silently accepts malformed records. The decoding here follows Go's
 * `archive/tar` (the reader Pachyderm uses), with its stricter choices kept.
 */
import { SluiceError } from '../../errors/index.js';
import { cleanPath } from '../../lib/paths.js';
import type { FifoEvent } from './fifo-source.js';

const BLOCK = 512;
const ZERO_BLOCK = Buffer.alloc(BLOCK);
const DEFAULT_MAX_META_BYTES = 1 << 20; // Go's archive/tar limit for pax and GNU long-name bodies
const DEFAULT_MAX_BUFFERED_BYTES = 64 << 20;
/** Bytes held while resynchronising: a fragment of at most 511 bytes plus one header block. */
const RESYNC_LIMIT = 2 * BLOCK - 1;

export type EntryType = 'file' | 'directory';

/** One regular file or directory of an archive, as announced by `entry-start`. */
export interface EntryHeader {
  /** Clean repo path (`/a/b`). GNU tar's leading `./` entry is the root directory, `/`. */
  path: string;
  /** The name as written in the archive, after pax `path` and GNU long-name overrides. */
  name: string;
  type: EntryType;
  /** Body length in bytes; always 0 for directories. */
  size: number;
  mode: number;
  /** Modification time in seconds since the epoch, as written in the header. */
  mtime: number;
  /** Byte offset in the stream of the entry's first header block (pax/GNU headers included). */
  offset: number;
}

export type TarProblem =
  | 'truncated'
  | 'bad-checksum'
  | 'bad-header'
  | 'bad-pax'
  | 'unsupported-type'
  | 'unsafe-path'
  | 'too-large'
  | 'interrupted';

export type ArchiveEvent =
  | { type: 'archive-start'; offset: number }
  | { type: 'entry-start'; entry: EntryHeader }
  | { type: 'entry-data'; entry: EntryHeader; chunk: Buffer }
  | { type: 'entry-end'; entry: EntryHeader }
  /** `bytes` runs from the first header to the end of the trailer (or of the last entry). */
  | { type: 'archive-end'; offset: number; bytes: number; entries: number; trailer: boolean }
  | { type: 'archive-error'; problem: TarProblem; offset: number; error: SluiceError }
  | { type: 'fragment-dropped'; offset: number; bytes: number };

export interface ArchiveReaderOptions {
  /** `accept` (default): `/a` means `/a`. `refuse`: a leading `/` refuses the archive. */
  absolutePaths?: 'accept' | 'refuse';
  /** Largest pax or GNU long-name header body accepted; larger ones refuse the archive. */
  maxMetaBytes?: number;
}

type Mode =
  | 'idle' // between archives: zero blocks are padding, a header starts an archive
  | 'header' // inside an archive, expecting a header or the first trailer block
  | 'zero1' // inside an archive, one zero block seen
  | 'body' // streaming (or skipping) an entry body, then its padding
  | 'meta' // collecting a pax or GNU long-name body, then its padding
  | 'resync' // a non-header where an archive should start: looking for a header just after a fragment
  | 'discard'; // framing lost: drop everything until the writer closes

type MetaKind = 'x' | 'g' | 'L' | 'K';

interface Pending {
  offset?: number;
  paxPath?: string;
  paxSize?: number;
  longName?: string;
  sparse?: boolean;
}

interface OpenArchive {
  offset: number;
  entries: number;
  refused: boolean;
}

interface RawHeader {
  name: Buffer;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
}

/**
 * A push parser: feed it the bytes of the pipe in order with `push`, tell it when the writer
 * closed with `writerClosed`, and act on the events each call returns. It never throws on bad
 * input; every problem is an `archive-error` event.
 *
 * @example
 * const reader = new ArchiveReader();
 * for (const ev of reader.push(chunk)) handle(ev);
 * for (const ev of reader.writerClosed()) handle(ev);
 */
export class ArchiveReader {
  private readonly absolutePaths: 'accept' | 'refuse';
  private readonly maxMetaBytes: number;

  private mode: Mode = 'idle';
  /** Offset in the stream of the next byte to consume. */
  private pos = 0;
  private readonly carry = Buffer.alloc(BLOCK);
  private carryLen = 0;
  private archive: OpenArchive | undefined;
  private pending: Pending = {};
  private dataRemaining = 0;
  private padRemaining = 0;
  /** The entry whose body is streaming; undefined while a body is being skipped. */
  private current: EntryHeader | undefined;
  private currentSize = 0;
  private meta: { kind: MetaKind; parts: Buffer[]; offset: number } | undefined;
  /** While resynchronising: the bytes from the bad block on, and where they start. */
  private resync: { buf: Buffer; offset: number; tried: number } | undefined;

  constructor(options: ArchiveReaderOptions = {}) {
    this.absolutePaths = options.absolutePaths ?? 'accept';
    this.maxMetaBytes = options.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  }

  /** Bytes consumed so far; offsets in events are positions in this count. */
  get offset(): number {
    return this.pos;
  }

  /** True while an archive has started and has not yet ended or been refused. */
  get inArchive(): boolean {
    return this.archive !== undefined && !this.archive.refused;
  }

  push(chunk: Buffer): ArchiveEvent[] {
    const out: ArchiveEvent[] = [];
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.mode === 'discard') {
        this.pos += end - i;
        break;
      }
      if (this.mode === 'body' || this.mode === 'meta') {
        i = this.consumeData(chunk, i, out);
        continue;
      }
      if (this.mode === 'resync') {
        i = this.consumeResync(chunk, i, out);
        continue;
      }
      let block: Buffer;
      if (this.carryLen === 0 && end - i >= BLOCK) {
        block = chunk.subarray(i, i + BLOCK);
        i += BLOCK;
        this.pos += BLOCK;
      } else {
        const take = Math.min(BLOCK - this.carryLen, end - i);
        chunk.copy(this.carry, this.carryLen, i, i + take);
        this.carryLen += take;
        i += take;
        this.pos += take;
        if (this.carryLen < BLOCK) break;
        block = this.carry;
        this.carryLen = 0;
      }
      this.onBlock(block, this.pos - BLOCK, out);
    }
    return out;
  }

  /**
   * The writer side of the pipe closed (or the byte source ended). An archive sitting on an
   * entry boundary completes; one cut inside an entry fails. The next byte starts a new
   * writer's stream, aligned to a block boundary of its own.
   */
  writerClosed(): ArchiveEvent[] {
    const out: ArchiveEvent[] = [];
    switch (this.mode) {
      case 'idle':
        if (this.carryLen > 0 && !isZero(this.carry.subarray(0, this.carryLen))) {
          out.push({ type: 'fragment-dropped', offset: this.pos - this.carryLen, bytes: this.carryLen });
        }
        break;
      case 'discard':
        break;
      case 'resync': {
        const r = this.resync;
        if (r !== undefined) this.fail(out, 'bad-checksum', 'the block where an archive should start fails its checksum (not a tar header, or corrupted)', r.offset);
        break;
      }
      case 'header':
      case 'zero1':
        if (this.carryLen === 0 && this.pending.offset === undefined) {
          this.finishArchive(out, false);
        } else if (this.carryLen > 0) {
          this.fail(out, 'truncated', `the writer closed the pipe ${this.carryLen} bytes into a 512-byte header block`, this.pos);
        } else {
          this.fail(out, 'truncated', 'the writer closed the pipe after an extended header, before the entry it describes', this.pos);
        }
        break;
      case 'body':
        if (this.dataRemaining > 0) {
          const what = this.current === undefined ? 'an entry' : `entry ${JSON.stringify(this.current.name)}`;
          const got = this.currentSize - this.dataRemaining;
          this.fail(out, 'truncated', `the writer closed the pipe inside ${what}: ${got} of ${this.currentSize} bytes arrived`, this.pos);
        } else {
          this.fail(out, 'truncated', `the writer closed the pipe inside the padding after an entry (${this.padRemaining} bytes missing)`, this.pos);
        }
        break;
      case 'meta':
        this.fail(out, 'truncated', 'the writer closed the pipe inside an extended (pax or GNU long-name) header', this.pos);
        break;
    }
    this.reset();
    return out;
  }

  private reset(): void {
    this.mode = 'idle';
    this.carryLen = 0;
    this.archive = undefined;
    this.pending = {};
    this.current = undefined;
    this.meta = undefined;
    this.dataRemaining = 0;
    this.padRemaining = 0;
    this.resync = undefined;
  }

  /**
   * Collects bytes after a bad block where an archive should start, looking for a header at
   * offsets 1 to 511 into it; on finding one, drops the bytes before it as a fragment and parses
   * on from the header. Returns the new index into `chunk`.
   */
  private consumeResync(chunk: Buffer, i: number, out: ArchiveEvent[]): number {
    const r = this.resync;
    if (r === undefined) {
      this.mode = 'idle';
      return i;
    }
    const take = Math.min(RESYNC_LIMIT - r.buf.length, chunk.length - i);
    r.buf = Buffer.concat([r.buf, chunk.subarray(i, i + take)]);
    this.pos += take;
    for (let off = r.tried + 1; off + BLOCK <= r.buf.length; off++) {
      r.tried = off;
      if (!looksLikeHeader(r.buf.subarray(off, off + BLOCK))) continue;
      out.push({ type: 'fragment-dropped', offset: r.offset, bytes: off });
      const rest = r.buf.subarray(off);
      this.resync = undefined;
      this.mode = 'idle';
      this.pos -= rest.length;
      out.push(...this.push(rest));
      return i + take;
    }
    if (r.buf.length >= RESYNC_LIMIT) {
      this.resync = undefined;
      this.fail(out, 'bad-checksum', 'the block where an archive should start fails its checksum (not a tar header, or corrupted)', r.offset);
    }
    return i + take;
  }

  /** Consumes body or meta bytes, then their padding; returns the new index into `chunk`. */
  private consumeData(chunk: Buffer, i: number, out: ArchiveEvent[]): number {
    const avail = chunk.length - i;
    let take: number;
    if (this.dataRemaining > 0) {
      take = Math.min(this.dataRemaining, avail);
      const piece = chunk.subarray(i, i + take);
      if (this.mode === 'body') {
        if (this.current !== undefined) out.push({ type: 'entry-data', entry: this.current, chunk: piece });
      } else {
        this.meta?.parts.push(piece);
      }
      this.dataRemaining -= take;
      if (this.dataRemaining === 0) this.finishData(out);
    } else {
      take = Math.min(this.padRemaining, avail);
      this.padRemaining -= take;
    }
    this.pos += take;
    // Leave the data state as soon as the last byte is in, even at the very end of a chunk: a
    // writer that closes right there has left the archive on an entry boundary.
    if (this.dataRemaining === 0 && this.padRemaining === 0 && (this.mode === 'body' || this.mode === 'meta')) this.mode = 'header';
    return i + take;
  }

  private beginData(mode: 'body' | 'meta', size: number, out: ArchiveEvent[]): void {
    this.mode = mode;
    this.currentSize = size;
    this.dataRemaining = size;
    this.padRemaining = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      this.finishData(out);
      if (this.mode === mode) this.mode = 'header';
    }
  }

  private finishData(out: ArchiveEvent[]): void {
    if (this.mode === 'body') {
      if (this.current !== undefined) out.push({ type: 'entry-end', entry: this.current });
      this.current = undefined;
      return;
    }
    const meta = this.meta;
    this.meta = undefined;
    if (meta === undefined) return; // an oversized header body being skipped
    const body = Buffer.concat(meta.parts);
    if (meta.kind === 'L' || meta.kind === 'K') {
      // GNU long names are NUL-terminated; a NUL inside the name is caught by the path check.
      let n = body.length;
      while (n > 0 && body[n - 1] === 0) n--;
      if (meta.kind === 'L') {
        const name = decodeUtf8(body.subarray(0, n));
        if (name === undefined) {
          this.refuse(out, 'unsafe-path', 'a GNU long name is not valid UTF-8', meta.offset, { name: body.subarray(0, n).toString('latin1') });
          return;
        }
        this.pending.longName = name;
      }
      return;
    }
    const records = parsePax(body);
    if (typeof records === 'string') {
      this.fail(out, 'bad-pax', `malformed pax header: ${records}`, meta.offset);
      return;
    }
    // Global records describe the archive (comments, charsets); Go does not apply them to
    // entries, and nothing here would use them.
    if (meta.kind === 'g') return;
    for (const [key, value] of records) {
      if (key === 'path') {
        if (value.length === 0) continue;
        const path = decodeUtf8(value);
        if (path === undefined) {
          this.refuse(out, 'unsafe-path', 'a pax path record is not valid UTF-8', meta.offset, { name: value.toString('latin1') });
          return;
        }
        this.pending.paxPath = path;
      } else if (key === 'size') {
        const text = value.toString('latin1');
        const size = /^[0-9]+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(size)) {
          this.fail(out, 'bad-pax', `pax size record ${JSON.stringify(text)} is not a size`, meta.offset);
          return;
        }
        this.pending.paxSize = size;
      } else if (key.startsWith('GNU.sparse.')) {
        this.pending.sparse = true;
      }
    }
  }

  private onBlock(block: Buffer, offset: number, out: ArchiveEvent[]): void {
    if (block.equals(ZERO_BLOCK)) {
      this.onZeroBlock(offset, out);
      return;
    }
    if (this.mode === 'zero1') {
      this.fail(out, 'bad-header', 'a data block follows a single zero block (an archive ends with two zero blocks)', offset);
      return;
    }
    if (!checksumMatches(block)) {
      if (this.mode === 'idle') {
        // Perhaps a fragment left by a writer whose close went unseen, then an archive.
        this.mode = 'resync';
        this.resync = { buf: Buffer.from(block), offset, tried: 0 };
        return;
      }
      this.fail(out, 'bad-checksum', 'a header block fails its checksum (not a tar header, or corrupted)', offset);
      return;
    }
    const header = decodeHeader(block);
    if (typeof header === 'string') {
      this.fail(out, 'bad-header', header, offset);
      return;
    }
    if (this.mode === 'idle') {
      this.archive = { offset, entries: 0, refused: false };
      this.mode = 'header';
      out.push({ type: 'archive-start', offset });
    }
    this.onHeader(header, offset, out);
  }

  private onZeroBlock(offset: number, out: ArchiveEvent[]): void {
    if (this.mode === 'idle') return;
    if (this.pending.offset !== undefined) {
      this.fail(out, 'bad-header', 'an extended header is followed by a zero block instead of the entry it describes', offset);
    } else if (this.mode === 'header') {
      this.mode = 'zero1';
    } else {
      this.finishArchive(out, true);
    }
  }

  private onHeader(h: RawHeader, offset: number, out: ArchiveEvent[]): void {
    if (h.typeflag === 'x' || h.typeflag === 'g' || h.typeflag === 'L' || h.typeflag === 'K') {
      // A global header ('g') describes the archive, not the next entry, so it leaves nothing
      // pending; the others must be followed by the entry they describe.
      if (h.typeflag !== 'g') this.pending.offset ??= offset;
      this.current = undefined;
      if (h.size > this.maxMetaBytes) {
        this.refuse(out, 'too-large', `an extended header of ${h.size} bytes exceeds the ${this.maxMetaBytes}-byte limit`, offset);
        this.beginData('body', h.size, out);
        return;
      }
      this.meta = { kind: h.typeflag, parts: [], offset };
      this.beginData('meta', h.size, out);
      return;
    }

    const pending = this.pending;
    this.pending = {};
    const entryOffset = pending.offset ?? offset;
    const name = pending.paxPath ?? pending.longName ?? decodeUtf8(h.name);
    const shownName = name ?? h.name.toString('latin1');
    const kind = classify(h.typeflag, shownName);
    // Header-only types carry no body whatever their size field says (as in Go's reader).
    const bodySize = kind === 'directory' || HEADER_ONLY.has(h.typeflag) ? 0 : (pending.paxSize ?? h.size);
    this.current = undefined;

    if (typeof kind === 'object') {
      this.refuse(out, 'unsupported-type', `entry ${JSON.stringify(shownName)} is a ${kind.unsupported}; only regular files and directories are allowed`, entryOffset, {
        entry: shownName,
        typeflag: h.typeflag,
      });
    } else if (pending.sparse === true) {
      this.refuse(out, 'unsupported-type', `entry ${JSON.stringify(shownName)} is a GNU sparse file; only regular files and directories are allowed`, entryOffset, {
        entry: shownName,
      });
    } else if (name === undefined) {
      this.refuse(out, 'unsafe-path', `entry name ${JSON.stringify(shownName)} is not valid UTF-8`, entryOffset, { entry: shownName });
    } else {
      const path = this.entryPath(name, kind, entryOffset, out);
      if (path !== undefined && this.archive !== undefined && !this.archive.refused) {
        const entry: EntryHeader = { path, name, type: kind, size: bodySize, mode: h.mode, mtime: h.mtime, offset: entryOffset };
        this.archive.entries++;
        out.push({ type: 'entry-start', entry });
        this.current = entry;
      }
    }
    this.beginData('body', bodySize, out);
  }

  /** The clean repo path of an entry, or undefined after refusing the archive. */
  private entryPath(name: string, kind: EntryType, offset: number, out: ArchiveEvent[]): string | undefined {
    const refuse = (why: string): undefined => {
      this.refuse(out, 'unsafe-path', `entry ${JSON.stringify(name)} ${why}`, offset, { entry: name });
      return undefined;
    };
    if (this.absolutePaths === 'refuse' && name.startsWith('/')) return refuse('is an absolute path');
    let path: string;
    try {
      path = cleanPath(name);
    } catch (err) {
      if (err instanceof SluiceError) return refuse(name.includes('\0') ? 'contains a NUL byte' : 'has a ".." segment and would escape /pfs/out');
      throw err;
    }
    if (path === '/' && kind === 'file') return refuse('names the root directory, not a file');
    return path;
  }

  private finishArchive(out: ArchiveEvent[], trailer: boolean): void {
    const a = this.archive;
    if (a !== undefined && !a.refused) {
      out.push({ type: 'archive-end', offset: a.offset, bytes: this.pos - a.offset, entries: a.entries, trailer });
    }
    this.archive = undefined;
    this.pending = {};
    this.mode = 'idle';
  }

  /** A content problem: the archive is refused, but its framing is sound, so keep walking it. */
  private refuse(out: ArchiveEvent[], problem: TarProblem, what: string, offset: number, details: Record<string, unknown> = {}): void {
    const a = this.archive;
    if (a === undefined || a.refused) return;
    a.refused = true;
    out.push(this.errorEvent(problem, what, offset, details));
  }

  /** A framing problem: nothing after this point can be trusted until the writer closes. */
  private fail(out: ArchiveEvent[], problem: TarProblem, what: string, offset: number, details: Record<string, unknown> = {}): void {
    if (this.archive === undefined || !this.archive.refused) out.push(this.errorEvent(problem, what, offset, details));
    this.reset();
    this.mode = 'discard';
  }

  private errorEvent(problem: TarProblem, what: string, offset: number, details: Record<string, unknown>): ArchiveEvent {
    const archiveOffset = this.archive?.offset;
    const where = archiveOffset === undefined ? `at byte ${offset}` : `at byte ${offset} (archive starting at byte ${archiveOffset})`;
    const error = new SluiceError('PFS_TAR_INVALID', `tar stream refused ${where}: ${what}`, {
      details: { problem, offset, ...(archiveOffset === undefined ? {} : { archiveOffset }), ...details },
    });
    return { type: 'archive-error', problem, offset, error };
  }
}

const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

const TYPE_NAMES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '6': 'FIFO',
  S: 'GNU sparse file',
  D: 'GNU incremental directory dump',
  M: 'GNU multi-volume continuation',
  V: 'GNU volume label',
  N: 'GNU old long name',
};

function classify(typeflag: string, name: string): EntryType | { unsupported: string } {
  switch (typeflag) {
    case '0':
    case '7': // contiguous file: a regular file everywhere but a few old systems
      return 'file';
    case '\0': // old (v7) regular file; a trailing slash made it a directory
      return name.endsWith('/') ? 'directory' : 'file';
    case '5':
      return 'directory';
    default:
      return { unsupported: TYPE_NAMES[typeflag] ?? `entry of unknown type ${JSON.stringify(typeflag)}` };
  }
}

function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Header checksum: the unsigned byte sum with the checksum field read as spaces. Old tars
 * summed signed bytes; both are accepted, as GNU tar and Go do. */
function checksumMatches(block: Buffer): boolean {
  const stored = parseOctal(block.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** A block that is certainly a header: its checksum matches and it has the ustar or GNU magic. */
function looksLikeHeader(block: Buffer): boolean {
  const magic = block.toString('latin1', 257, 263);
  return (magic === 'ustar\0' || magic === 'ustar ') && checksumMatches(block);
}

function decodeHeader(block: Buffer): RawHeader | string {
  const typeflag = String.fromCharCode(block[156] ?? 0);
  const size = parseNumeric(block.subarray(124, 136));
  if (size === undefined || size < 0 || !Number.isSafeInteger(size)) return `the header's size field is not a valid size`;
  const mode = parseNumeric(block.subarray(100, 108));
  if (mode === undefined) return `the header's mode field is not a number`;
  const mtime = parseNumeric(block.subarray(136, 148));
  if (mtime === undefined) return `the header's mtime field is not a number`;
  let name = cString(block, 0, 100);
  // Only POSIX ustar ("ustar\0" "00") has a name prefix; GNU's "ustar  \0" keeps atime, ctime
  // and sparse data in those bytes, and v7 headers have none.
  if (block.toString('latin1', 257, 265) === 'ustar\x0000') {
    const prefix = cString(block, 345, 155);
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  }
  return { name, typeflag, size, mode: mode & 0o7777, mtime };
}

function cString(block: Buffer, start: number, length: number): Buffer {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

/** A numeric field: octal text (padded with spaces or NULs), or GNU base-256 when the high bit
 * of the first byte is set. Undefined when malformed. */
function parseNumeric(field: Buffer): number | undefined {
  const first = field[0] ?? 0;
  if ((first & 0x80) === 0) return parseOctal(field);
  const negative = (first & 0x40) !== 0;
  // Two's complement: for a negative number, invert every byte and add one at the end.
  let value = (negative ? ~first : first) & 0x7f;
  for (let i = 1; i < field.length; i++) {
    const b = field[i] ?? 0;
    value = value * 256 + (negative ? ~b & 0xff : b);
    if (value > Number.MAX_SAFE_INTEGER) return undefined;
  }
  return negative ? -(value + 1) : value;
}

function parseOctal(field: Buffer): number | undefined {
  let start = 0;
  let end = field.length;
  while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
  while (end > start && (field[end - 1] === 0x20 || field[end - 1] === 0)) end--;
  let value = 0;
  for (let i = start; i < end; i++) {
    const b = field[i] ?? 0;
    if (b < 0x30 || b > 0x37) return undefined;
    value = value * 8 + (b - 0x30);
  }
  return value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(buf: Buffer): string | undefined {
  try {
    return utf8.decode(buf);
  } catch {
    return undefined;
  }
}

/** Pax records, `"%d %s=%s\n"` each, the length counting the whole record in bytes. Returns
 * the records (key, raw value) or a description of what is malformed. */
function parsePax(body: Buffer): Array<[string, Buffer]> | string {
  const records: Array<[string, Buffer]> = [];
  let at = 0;
  while (at < body.length) {
    // Writers may pad the body with NULs; Go rejects that, GNU tar tolerates trailing NULs.
    if (isZero(body.subarray(at))) break;
    const space = body.indexOf(0x20, at);
    if (space === -1 || space === at || space - at > 20) return `record at byte ${at} has no length`;
    const lenText = body.toString('latin1', at, space);
    if (!/^[0-9]+$/.test(lenText)) return `record at byte ${at} has length ${JSON.stringify(lenText)}`;
    const len = Number(lenText);
    if (len <= space - at + 1 || at + len > body.length) return `record at byte ${at} claims ${len} bytes`;
    const rec = body.subarray(space + 1, at + len);
    if (rec[rec.length - 1] !== 0x0a) return `record at byte ${at} does not end with a newline`;
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) return `record at byte ${at} has no key`;
    const key = rec.toString('latin1', 0, eq);
    const value = rec.subarray(eq + 1, rec.length - 1);
    records.push([key, value]);
    at += len;
  }
  return records;
}

export type ArchiveSourceItem = Uint8Array | FifoEvent;

/**
 * The events of every archive in `src`, with back-pressure: the next item of `src` is read
 * only when the consumer asks for more events.
 *
 * `src` yields either raw bytes (a child's stdout, a file: its end means the writer closed)
 * or `FifoEvent`s from `openFifoSource` (writer closes are explicit; the end of the source is
 * an abort, so an archive still open then fails as `interrupted` rather than completing).
 */
export async function* readArchiveEvents(src: AsyncIterable<ArchiveSourceItem>, options: ArchiveReaderOptions = {}): AsyncGenerator<ArchiveEvent> {
  const reader = new ArchiveReader(options);
  let explicitCloses = false;
  for await (const item of src) {
    if (item instanceof Uint8Array) {
      yield* reader.push(toBuffer(item));
    } else if (item.type === 'data') {
      explicitCloses = true;
      yield* reader.push(item.chunk);
    } else {
      explicitCloses = true;
      yield* reader.writerClosed();
    }
  }
  if (!explicitCloses) {
    yield* reader.writerClosed();
  } else if (reader.inArchive) {
    const offset = reader.offset;
    const error = new SluiceError('PFS_TAR_INVALID', `tar stream interrupted at byte ${offset}: the source ended inside an archive`, {
      details: { problem: 'interrupted', offset },
    });
    yield { type: 'archive-error', problem: 'interrupted', offset, error };
  }
}

function toBuffer(item: Uint8Array): Buffer {
  return Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
}

export interface BufferedEntry extends EntryHeader {
  body: Buffer;
}

/** A complete archive with its bodies in memory. */
export interface Archive {
  offset: number;
  bytes: number;
  /** False when the archive ended at a writer close instead of its end-of-archive marker. */
  trailer: boolean;
  entries: BufferedEntry[];
}

export interface ReadArchivesOptions extends ArchiveReaderOptions {
  /** An archive whose bodies exceed this many bytes is refused (`too-large`). Default 64 MiB. */
  maxBufferedBytes?: number;
  /** Called for each refused archive; reading goes on. Without it, the first refusal throws. */
  onError?: (error: SluiceError) => void;
}

/**
 * Whole archives, bodies buffered, for small archives and tests. Large archives belong to
 * `readArchiveEvents`, whose consumer can stream bodies into an upload it aborts on error.
 */
export async function* readArchives(src: AsyncIterable<ArchiveSourceItem>, options: ReadArchivesOptions = {}): AsyncGenerator<Archive> {
  const limit = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const report = (error: SluiceError): void => {
    if (options.onError === undefined) throw error;
    options.onError(error);
  };
  let entries: BufferedEntry[] = [];
  let parts: Buffer[] = [];
  let buffered = 0;
  let skipping = false; // refused as too large; wait for this archive's end
  for await (const ev of readArchiveEvents(src, options)) {
    switch (ev.type) {
      case 'archive-start':
        entries = [];
        buffered = 0;
        skipping = false;
        break;
      case 'entry-start':
        parts = [];
        break;
      case 'entry-data':
        if (skipping) break;
        buffered += ev.chunk.length;
        if (buffered > limit) {
          skipping = true;
          entries = [];
          parts = [];
          report(
            new SluiceError('PFS_TAR_INVALID', `tar archive at byte ${ev.entry.offset} refused: it holds more than ${limit} bytes, the buffering limit`, {
              details: { problem: 'too-large', offset: ev.entry.offset, entry: ev.entry.name, limit },
            }),
          );
          break;
        }
        parts.push(ev.chunk);
        break;
      case 'entry-end':
        if (!skipping) entries.push({ ...ev.entry, body: Buffer.concat(parts) });
        parts = [];
        break;
      case 'archive-end':
        if (!skipping) yield { offset: ev.offset, bytes: ev.bytes, trailer: ev.trailer, entries };
        entries = [];
        skipping = false;
        break;
      case 'archive-error':
        entries = [];
        parts = [];
        if (!skipping) report(ev.error);
        skipping = false;
        break;
      case 'fragment-dropped':
        break;
    }
  }
}
