/**
 * `put file <repo>@<ref>[:<path>]` with `-f` (repeatable; a local file, a directory with `-r`,
 * or `-` for stdin; default `-`), `-r`, `-i <file|->` (a list of sources, one per line),
 * `-a` (append), `--untar`, `-p N` (parallel upload streams, default 10), `--full-path`,
 * `--no-progress`.
 *
 * Progress: when stderr is a terminal and the upload is large (1 MiB or more, 10 files or more,
 * or of unknown size: stdin, an archive), a bar on stderr shows bytes and files sent, the rate
 * and the time left (see progress.ts); nothing is drawn when stderr is not a terminal.
 *
 * One command is one atomic change: everything goes into one upload session, committed at the
 * end with `upload.commit(repo, ref)` (a new finished commit on a branch whose head is finished,
 * or an addition to an open commit). On any failure, or Ctrl-C, the session is aborted and
 * nothing is committed. A single file goes up as one `putFile`; many files go as `-p` tar
 * streams built on the fly, split to roughly equal sizes. Target naming: see put-plan.ts.
 *
 * An empty directory with `-r` still makes a (change-less) commit, as pachctl does.
 *
 * A missing `@ref` means the spout's output branch (inside a spout, writing its own repo) or
 * `master`. Inside a spout (its worker sets `PPS_PIPELINE_NAME` and `SLUICE_SPOUT_OUTPUT_BRANCH`;
 * see `spoutDefaults`) the target may be left out entirely,
 * as seed 004's `pachctl put file -r -f /tmp/files` does: the spout's own repo and output branch.
 *
 * `--marker FILE` (spouts 2.0's marker, brought back): FILE's content is written to
 * `<repo>@marker:/<basename of FILE>` in the same transaction as the data commit, so the marker
 * always describes exactly the data on the output branch. Read it back at start with
 * `pachctl get file <repo>@marker:/<name>`.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { addAbortSignal, pipeline, Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { InterruptedError, type CliContext } from '../context.js';
import { SluiceError, spoutDefaults, type Upload } from '../../client/index.js';
import { collect, DEFAULT_BRANCH, parseFileArg, positiveIntOption } from '../args.js';
import { subcommand } from '../command-tree.js';
import { planPut, splitBySize, type PutItem } from '../put-plan.js';
import { maybeGunzip, packFiles, type PackProgress } from '../tar-io.js';
import { isTerminal, TransferProgress, type TransferTotals } from '../progress.js';

interface Options {
  file?: string[];
  inputFile?: string;
  recursive?: boolean;
  append?: boolean;
  untar?: boolean;
  parallelism: number;
  fullPath?: boolean;
  marker?: string;
  /** `--no-progress` sets it false. */
  progress: boolean;
}

/** Uploads at least this large (or with this many files) get a progress bar on a terminal. */
const PROGRESS_MIN_BYTES = 1024 * 1024;
const PROGRESS_MIN_FILES = 10;

/** What the bar can know up front: every size when all sources are local files. */
function transferTotals(items: readonly PutItem[]): TransferTotals {
  if (items.every((i) => i.kind === 'file')) {
    return { bytes: items.reduce((n, i) => n + (i.kind === 'file' ? i.size : 0), 0), files: items.length };
  }
  return items.some((i) => i.kind === 'tar') ? {} : { files: items.length };
}

function wantsProgress(totals: TransferTotals): boolean {
  return totals.bytes === undefined || totals.bytes >= PROGRESS_MIN_BYTES || (totals.files ?? 0) >= PROGRESS_MIN_FILES;
}

/** Passes a stream through, telling `progress` how many bytes went by. */
function counted(src: Readable, progress: PackProgress | undefined): Readable {
  if (progress === undefined) return src;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      progress.bytes(chunk.length);
      done(null, chunk);
    },
  });
  // pipeline() carries an error of the source to the counter, so the upload sees it.
  pipeline(src, counter, () => undefined);
  return counter;
}

async function readSourceList(ctx: CliContext, inputFile: string): Promise<string[]> {
  let text: string;
  if (inputFile === '-') {
    const chunks: Buffer[] = [];
    for await (const c of ctx.io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(inputFile, 'utf8');
    } catch (err) {
      throw new SluiceError('INVALID_ARGUMENT', `cannot read ${inputFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  return text.split(/\r?\n/).filter((l) => l !== '');
}

/** The target when none is given: only inside a spout, whose worker names its repo. */
function defaultTarget(ctx: CliContext): string {
  const spout = spoutDefaults(ctx.env, ctx.config().context);
  if (spout === undefined) {
    throw new SluiceError('INVALID_ARGUMENT', 'put file needs a target: name one as <repo>@<branch>[:<path>] (it may be left out only inside a spout, whose environment names its repo)');
  }
  return spout.pipeline;
}

/**
 * Inside a spout, commits to its own repo carry provenance on the pipeline's spec commit (issue
 * 5; spouts 1.0 commits get it from the worker), which the worker passes as PPS_SPEC_COMMIT.
 */
function spoutProvenance(ctx: CliContext, repo: string): Array<{ repo: string; id: string }> {
  const spout = spoutDefaults(ctx.env, ctx.config().context);
  const spec = ctx.env.PPS_SPEC_COMMIT;
  if (spout?.pipeline !== repo || spec === undefined || spec === '') return [];
  return [{ repo: `${repo}.spec`, id: spec }];
}

/** The default branch for writes: a spout writes its own repo's output branch. */
function defaultWriteRef(ctx: CliContext, repo: string): string {
  const spout = spoutDefaults(ctx.env, ctx.config().context);
  return spout !== undefined && spout.pipeline === repo ? spout.outputBranch : DEFAULT_BRANCH;
}

function guardRead(path: string, signal: AbortSignal): Readable {
  return addAbortSignal(signal, createReadStream(path));
}

/** Uploads every planned item into `upload`; rejects (after stopping the others) on the first failure. */
async function uploadItems(ctx: CliContext, upload: Upload, items: readonly PutItem[], opts: Options, signal: AbortSignal, progress?: PackProgress): Promise<void> {
  const append = opts.append === true ? { append: true } : {};
  const guard = <T extends Readable>(s: T): T => addAbortSignal(signal, s);
  const stdinBody = (): Readable => counted(guard(ctx.io.stdin), progress);
  const files = items.filter((i): i is Extract<PutItem, { kind: 'file' }> => i.kind === 'file');
  const targets = new Set<string>();
  let repeated = false;
  for (const i of items) {
    if (i.kind === 'tar') continue;
    if (targets.has(i.target)) repeated = true;
    targets.add(i.target);
  }
  // Appends, or a path written twice, must land in command order: one stream, in order.
  const sequential = opts.append === true || repeated;

  const [only] = files;
  if (only !== undefined && items.length === 1) {
    await upload.putFile(only.target, counted(guard(createReadStream(only.source)), progress), append);
    progress?.file();
    return;
  }
  const run = async (item: PutItem): Promise<void> => {
    if (item.kind === 'stdin') {
      await upload.putFile(item.target, stdinBody(), append);
      progress?.file();
    } else if (item.kind === 'tar') {
      const src = item.source === '-' ? stdinBody() : counted(guard(createReadStream(item.source)), progress);
      const res = await upload.putTar(item.dir, guard(maybeGunzip(src)), append);
      for (let i = 0; i < res.files; i++) progress?.file();
    }
  };
  if (sequential) {
    // Consecutive local files share one tar stream; other items go one by one, in order.
    let batch: Array<Extract<PutItem, { kind: 'file' }>> = [];
    const flush = async (): Promise<void> => {
      if (batch.length > 0) await upload.putTar('/', packFiles(batch, signal, progress), append);
      batch = [];
    };
    for (const item of items) {
      if (item.kind === 'file') batch.push(item);
      else {
        await flush();
        await run(item);
      }
    }
    await flush();
    return;
  }
  const jobs: Array<() => Promise<unknown>> = splitBySize(files, opts.parallelism).map((group) => () => upload.putTar('/', packFiles(group, signal, progress), append));
  for (const item of items) if (item.kind !== 'file') jobs.push(() => run(item));
  await Promise.all(jobs.map((j) => j()));
}

export function registerFilePut(program: Command, ctx: CliContext): void {
  subcommand(program, ['put', 'file'], 'Put a file into the filesystem (one command, one commit).')
    .argument('[repo@branch-or-commit[:path]]', 'where to put the data (inside a spout: its own repo by default)')
    .option('-f, --file <file>', 'a local file, a directory (with -r), or - for stdin (repeatable; default -)', collect)
    .option('-i, --input-file <file>', 'read the sources from a file, one per line (- for stdin)')
    .option('-r, --recursive', 'recursively put the files in a directory')
    .option('-a, --append', 'append to the existing content of the file instead of overwriting it')
    .option('--untar', 'the source is a tar archive (gzip detected) whose files are put under the path')
    .option('-p, --parallelism <n>', 'number of parallel upload streams', positiveIntOption, 10)
    .option('--full-path', 'use the whole path given to -f as the target name, not just its base name')
    .option('--marker <file>', 'also write this local file to the marker branch, in the same transaction')
    .option('--no-progress', 'draw no progress bar (none is drawn anyway when stderr is not a terminal)')
    .action(async (arg: string | undefined, opts: Options) => {
      const target = parseFileArg(arg ?? defaultTarget(ctx), { defaultRef: '' });
      const ref = target.ref === '' ? defaultWriteRef(ctx, target.repo) : target.ref;
      if (opts.inputFile !== undefined && opts.file !== undefined) throw new SluiceError('INVALID_ARGUMENT', 'cannot use both -f and -i');
      const client = ctx.client();
      // Fail early on a missing repo, as pachctl does, before walking or reading local data.
      await client.inspectRepo(target.repo);
      const sources = opts.inputFile !== undefined ? await readSourceList(ctx, opts.inputFile) : opts.file ?? ['-'];
      const items = await planPut(
        { sources, path: target.path, recursive: opts.recursive === true, untar: opts.untar === true, fullPath: opts.fullPath === true },
        { warn: (m) => ctx.err(`warning: ${m}\n`) },
      );
      const { signal: interrupted, release } = ctx.interruptible();
      const stop = new AbortController();
      const onInterrupt = (): void => stop.abort(interrupted.reason);
      interrupted.addEventListener('abort', onInterrupt, { once: true });
      const provenance = spoutProvenance(ctx, target.repo);
      const upload = await client.createUpload();
      let markerUpload: Upload | undefined;
      const totals = transferTotals(items);
      const bar = opts.progress && isTerminal(ctx.io.stderr) && wantsProgress(totals) ? new TransferProgress(ctx.io.stderr, totals, { label: 'put file' }).start() : undefined;
      const progress: PackProgress | undefined = bar === undefined ? undefined : { bytes: (n) => bar.addBytes(n), file: () => bar.fileDone() };
      try {
        try {
          await uploadItems(ctx, upload, items, opts, stop.signal, progress);
        } catch (err) {
          stop.abort(err);
          throw err;
        } finally {
          bar?.finish();
        }
        if (opts.marker !== undefined) {
          markerUpload = await client.createUpload();
          // The marker replaces the previous one.
          await markerUpload.deleteFile('/');
          await markerUpload.putFile(`/${basename(opts.marker)}`, guardRead(opts.marker, stop.signal));
          await upload.commit(target.repo, ref, { provenance, marker: { branch: 'marker', upload: markerUpload } });
        } else {
          await upload.commit(target.repo, ref, { provenance });
        }
      } catch (err) {
        await upload.abort().catch(() => undefined);
        await markerUpload?.abort().catch(() => undefined);
        if (interrupted.aborted) throw new InterruptedError('put file interrupted; nothing was committed');
        throw err;
      } finally {
        interrupted.removeEventListener('abort', onInterrupt);
        release();
      }
    });
}
