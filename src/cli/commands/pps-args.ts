/**
 * Arguments shared by the pipeline, job and logs commands: `<pipeline>@<job-id>` (pachctl 2.x),
 * pipeline names, `--history N|all|none`, and reading a spec file (`-f FILE`, `-f -` = stdin) for
 * `create/update pipeline`. Errors are `INVALID_ARGUMENT` SluiceErrors (exit 2).
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { CliContext } from '../context.js';
import { SluiceError, type JobInfo } from '../../client/index.js';
import { parseAddress } from '../../lib/address.js';
import { validateName } from '../../lib/names.js';

export interface JobArg {
  pipeline: string;
  id: string;
}

function invalid(input: string, what: string, why: string): SluiceError {
  return new SluiceError('INVALID_ARGUMENT', `invalid ${what} ${JSON.stringify(input)}: ${why}`);
}

/** `<pipeline>`: a bare pipeline name. */
export function parsePipelineArg(input: string): string {
  try {
    validateName('pipeline', input);
  } catch (err) {
    throw invalid(input, 'pipeline', (err as Error).message);
  }
  return input;
}

/** `<pipeline>@<job-id>`. */
export function parseJobArg(input: string): JobArg {
  const a = parseAddress(input, 'job');
  if (a.path !== undefined || a.ref === undefined) throw invalid(input, 'job', 'expected <pipeline>@<job-id>');
  return { pipeline: a.repo, id: a.ref };
}

/**
 * `<pipeline>@<job-id>`, or a bare job id (pachctl 1.x) when exactly one pipeline has a job with
 * that id.
 */
export async function resolveJobArg(ctx: CliContext, input: string): Promise<JobArg> {
  if (input.includes('@')) return parseJobArg(input);
  if (!/^[0-9a-f]{32}$/.test(input)) throw invalid(input, 'job', 'expected <pipeline>@<job-id>');
  const matches: JobInfo[] = (await ctx.client().listJobs()).filter((j) => j.id === input);
  const [only] = matches;
  if (only === undefined) throw new SluiceError('PPS_JOB_NOT_FOUND', `no job with id ${input}`);
  if (matches.length > 1) {
    throw new SluiceError('INVALID_ARGUMENT', `job id ${input} names jobs of several pipelines (${matches.map((j) => j.pipeline).join(', ')}); use <pipeline>@${input}`);
  }
  return { pipeline: only.pipeline, id: only.id };
}

/**
 * `--history`: how many earlier versions to show besides the current one. `none` = 0,
 * `all` (or -1) = every version.
 */
export function historyOption(value: string): number {
  if (value === 'none') return 0;
  if (value === 'all' || value === '-1') return Infinity;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a number of versions, "all" or "none".');
  return Number(value);
}

/** Reads all of stdin as UTF-8 text. */
async function readStdin(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of ctx.io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Whether stdin is an interactive terminal. */
export function stdinIsTty(ctx: CliContext): boolean {
  return (ctx.io.stdin as { isTTY?: boolean }).isTTY === true;
}

/**
 * The text of a spec file and the name the daemon uses in its error messages: the path as given,
 * or `stdin` for `-` (pachctl prints "Reading from stdin." when that is a terminal).
 */
export async function readSpecSource(ctx: CliContext, file: string): Promise<{ text: string; name: string }> {
  if (file === '-') {
    if (stdinIsTty(ctx)) ctx.err('Reading from stdin.\n');
    return { text: await readStdin(ctx), name: 'stdin' };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) throw new SluiceError('INVALID_ARGUMENT', `cannot read ${file}: URLs are not supported; download the spec and pass the file`);
  try {
    return { text: await readFile(file, 'utf8'), name: file };
  } catch (err) {
    throw new SluiceError('INVALID_ARGUMENT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}
