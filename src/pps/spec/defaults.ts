/**
 * Fills in what Pachyderm's server fills in before it validates and stores a spec
 * (`setPipelineDefaults` / `setInputDefaults` in Pachyderm 2.x):
 * - `transform.image` → `ubuntu:20.04` (2.x; 1.13 used `ubuntu:16.04`);
 * - inputs: the children of every cross/join/group/union are sorted by input name (stable, and
 *   before names are defaulted, exactly as Pachyderm does, so unnamed inputs keep their order);
 *   `pfs.branch` → `master` (or `<pipeline>-trigger-<n>` when the input has a trigger, whose own
 *   branch then defaults to `master`); `pfs.name` → `pfs.repo`; `pfs.glob` is cleaned to an
 *   absolute path (`urls/*` → `/urls/*`); `cron.repo` → `<pipeline>_<cron name>`; `cron.start`
 *   → `opts.now` when given (Pachyderm uses the creation time);
 * - `output_branch` → `master`; `datum_tries` → 3; `reprocess_spec` → `until_success`;
 * - `service.type` and `spout.service.type` → `NodePort`;
 * - a connector spout's `spout.batch` → 1,000 messages / `200ms`, `spout.connector.format` → `files`;
 * - `parallelism_spec` → `{constant: 1}` when absent or when neither constant nor (1.x)
 *   coefficient is set (a spout runs in one worker whatever this says).
 *
 * Pure: returns a new spec, never modifies its argument. Idempotent.
 */
import type { Input, PipelineSpec } from './types.js';

export const DEFAULT_USER_IMAGE = 'ubuntu:20.04';
export const DEFAULT_OUTPUT_BRANCH = 'master';
export const DEFAULT_INPUT_BRANCH = 'master';
export const DEFAULT_DATUM_TRIES = 3;
export const DEFAULT_SERVICE_TYPE = 'NodePort';
export const DEFAULT_REPROCESS_SPEC = 'until_success';
export const DEFAULT_PARALLELISM = 1;
/** A connector spout's batch: a commit per 1,000 messages or 200 ms after the first one. */
export const DEFAULT_BATCH_MESSAGES = 1000;
export const DEFAULT_BATCH_DELAY = '200ms';

export interface DefaultsOptions {
  /** When given, cron inputs without `start` start at this time. */
  now?: Date;
}

export function applyDefaults<T extends PipelineSpec>(spec: T, opts: DefaultsOptions = {}): T {
  const out = structuredClone(spec);
  const pipelineName = out.pipeline?.name ?? '';
  if (out.transform !== undefined && out.transform.image === '') out.transform.image = DEFAULT_USER_IMAGE;
  if (out.input !== undefined) setInputDefaults(pipelineName, out.input, opts);
  if (out.outputBranch === '') out.outputBranch = DEFAULT_OUTPUT_BRANCH;
  if (out.datumTries === 0) out.datumTries = DEFAULT_DATUM_TRIES;
  if (out.reprocessSpec === '') out.reprocessSpec = DEFAULT_REPROCESS_SPEC;
  if (out.service !== undefined && out.service.type === '') out.service.type = DEFAULT_SERVICE_TYPE;
  if (out.spout?.service !== undefined && out.spout.service.type === '') out.spout.service.type = DEFAULT_SERVICE_TYPE;
  if (out.spout?.connector !== undefined) {
    const b = out.spout.batch;
    out.spout.batch = { maxMessages: b?.maxMessages || DEFAULT_BATCH_MESSAGES, maxDelay: b?.maxDelay || DEFAULT_BATCH_DELAY };
    if (out.spout.connector.format === '') out.spout.connector.format = 'files';
  }
  if (out.parallelismSpec === undefined) out.parallelismSpec = { constant: DEFAULT_PARALLELISM, coefficient: 0 };
  else if (out.parallelismSpec.constant === 0 && out.parallelismSpec.coefficient === 0) out.parallelismSpec.constant = DEFAULT_PARALLELISM;
  return out;
}

/** The children of a composite input, or undefined for a leaf. */
export function inputChildren(input: Input): Input[] | undefined {
  return input.cross ?? input.join ?? input.group ?? input.union;
}

/** Visits every input, children before their parent (Pachyderm's `VisitInput` order). */
export function visitInputs(input: Input, f: (input: Input) => void): void {
  for (const child of inputChildren(input) ?? []) visitInputs(child, f);
  f(input);
}

/** Pachyderm's `InputName`: a pfs input's name, a composite's first child's, else ''. */
function inputName(input: Input): string {
  if (input.pfs !== undefined) return input.pfs.name;
  const first = inputChildren(input)?.[0];
  return first === undefined ? '' : inputName(first);
}

function setInputDefaults(pipelineName: string, root: Input, opts: DefaultsOptions): void {
  visitInputs(root, (input) => {
    const children = inputChildren(input);
    // Array.prototype.sort is stable, as Go's sort.SliceStable.
    if (children !== undefined) children.sort((a, b) => compare(inputName(a), inputName(b)));
  });
  const triggerBranches = new Map<string, number>();
  visitInputs(root, (input) => {
    const pfs = input.pfs;
    if (pfs !== undefined) {
      if (pfs.branch === '') {
        if (pfs.trigger !== undefined) {
          const n = (triggerBranches.get(pfs.repo) ?? 0) + 1;
          triggerBranches.set(pfs.repo, n);
          pfs.branch = `${pipelineName}-trigger-${n}`;
          if (pfs.trigger.branch === '') pfs.trigger.branch = DEFAULT_INPUT_BRANCH;
        } else {
          pfs.branch = DEFAULT_INPUT_BRANCH;
        }
      }
      if (pfs.name === '') pfs.name = pfs.repo;
      if (pfs.glob !== '') pfs.glob = cleanGlob(pfs.glob);
    }
    const cron = input.cron;
    if (cron !== undefined) {
      if (cron.start === '' && opts.now !== undefined) cron.start = opts.now.toISOString();
      if (cron.repo === '') cron.repo = `${pipelineName}_${cron.name}`;
    }
  });
}

function compare(a: string, b: string): number {
  // Byte order, as Go compares strings (localeCompare would not).
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `urls/*` → `/urls/*`, `/a//b/` → `/a/b`, `` stays `` (validation reports it). */
export function cleanGlob(glob: string): string {
  const parts = glob.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}
