/**
 * Datums: the units of work a job is split into, formed as Pachyderm 2 forms them
 * (`src/server/worker/datum/iterator.go`):
 *
 * - pfs (or cron) input: every path its glob matches in the input commit is one datum (the file
 *   or directory at `/pfs/<name><path>`). The glob's capture groups fill the input's `join_on`
 *   and `group_by` templates (`$1`, `${2}`; src/lib/pach-glob.ts), giving each path its keys;
 *   `lazy`, `empty_files` and `outer_join` travel with the path.
 * - cross: the cartesian product of its children's datums; union: their concatenation.
 * - join: each child's datum inputs are bucketed by join key, one input at a time; for each key
 *   (in key order) the cross product of the buckets of the children that have it is emitted when
 *   every child has it, and otherwise only its `outer_join` inputs are kept (a combination left
 *   with none is dropped). An empty `join_on` is the key '' for every path.
 * - group: each child's datum inputs are bucketed by group key; each key (in key order) is one
 *   datum holding every input with that key, children in order.
 * - the same datum (same id) formed twice is kept once (an outer join of three inputs or a union
 *   over the same input can form one twice; Pachyderm 2 keys its datum sets by id).
 *
 * Each datum gets an id from its inputs' names, paths and contents, so the same files under the
 * same names always make the same datum; the hash that decides whether a datum can be skipped
 * adds the pipeline's salt (which changes on create and on `update --reprocess`).
 */
import { createHash } from 'node:crypto';
import type { DatumInput } from '../api/pps-types.js';
import type { CommitRef } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import { compileGlob } from '../lib/pach-glob.js';
import type { Pfs } from '../pfs/index.js';
import { dirKey, isFileValue } from '../pfs/entries.js';
import { globTree } from '../pfs/file-reader.js';
import { get, range } from '../pfs/tree/index.js';
import type { Input, PfsInput } from './spec/index.js';

export interface Datum {
  id: string;
  inputs: DatumInput[];
}

/** Where each leaf input (pfs or cron) reads from: input repo -> commit (names may repeat in a union). */
export type InputCommits = Map<string, CommitRef>;

/** One path a leaf input's glob matched, as datum formation sees it. */
export interface LeafMatch {
  path: string;
  type: 'file' | 'dir';
}

/** A datum input with the keys a join or group reads (the keys themselves, even when empty). */
interface Item {
  input: DatumInput;
  joinKey: string;
  groupKey: string;
}

/** What a leaf's glob matched in its commit (the input commit is resolved by the caller). */
export type LeafMatcher = (leaf: { repo: string; glob: string }) => Promise<{ commit: string; matches: LeafMatch[] } | undefined>;

export async function computeDatums(pfs: Pfs, input: Input, commits: InputCommits): Promise<Datum[]> {
  const matcher: LeafMatcher = async ({ repo, glob }) => {
    const commit = commits.get(repo);
    if (commit === undefined) return undefined;
    const view = await pfs.files.view(commit.repo, commit.id);
    const matches = await globTree(view, glob);
    return { commit: commit.id, matches: matches.map((m) => ({ path: m.path, type: m.type })) };
  };
  const lists = await formDatums(input, matcher);
  const out: Datum[] = [];
  const seen = new Set<string>();
  for (const inputs of lists) {
    const id = await datumId(pfs, inputs);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, inputs });
  }
  return out;
}

/**
 * The datums of an input, as lists of datum inputs, in datum order. Pure apart from `matcher`
 * (which reads the input commits), so it can be tested without a store. Duplicates (same inputs)
 * are removed.
 */
export async function formDatums(input: Input, matcher: LeafMatcher): Promise<DatumInput[][]> {
  const lists = await itemLists(input, matcher);
  const out: DatumInput[][] = [];
  const seen = new Set<string>();
  for (const items of lists) {
    const inputs = items.map((i) => i.input);
    const key = JSON.stringify(inputs.map((i) => [i.name, i.repo, i.commit, i.path]));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(inputs);
  }
  return out;
}

async function itemLists(input: Input, matcher: LeafMatcher): Promise<Item[][]> {
  if (input.pfs !== undefined) return leafItems(input.pfs, matcher);
  if (input.cron !== undefined) {
    const c = input.cron;
    // A cron input is a pfs input on its tick repo, one datum per tick file (Pachyderm's
    // newCronIterator uses the glob "/*"; Sluice keeps its earlier "/" reading of the whole repo).
    return leafItems({ name: c.name, repo: c.repo, glob: '/', joinOn: '', groupBy: '', outerJoin: false, lazy: false, emptyFiles: false }, matcher);
  }
  if (input.cross !== undefined) {
    let acc: Item[][] = [[]];
    for (const child of input.cross) {
      const lists = await itemLists(child, matcher);
      const next: Item[][] = [];
      for (const a of acc) for (const b of lists) next.push([...a, ...b]);
      acc = next;
    }
    // A cross with no children has no datums (Pachyderm's crossIterator).
    return input.cross.length === 0 ? [] : acc;
  }
  if (input.union !== undefined) {
    const out: Item[][] = [];
    for (const child of input.union) out.push(...(await itemLists(child, matcher)));
    return out;
  }
  if (input.join !== undefined) return joinItems(await childBuckets(input.join, matcher, 'joinKey'));
  if (input.group !== undefined) return groupItems(await childBuckets(input.group, matcher, 'groupKey'));
  throw new SluiceError('PPS_SPEC_INVALID', 'an input sets none of pfs, cron, cross, union, join and group');
}

type LeafSpec = Pick<PfsInput, 'name' | 'repo' | 'glob' | 'joinOn' | 'groupBy' | 'outerJoin' | 'lazy' | 'emptyFiles'>;

async function leafItems(pfs: LeafSpec, matcher: LeafMatcher): Promise<Item[][]> {
  const found = await matcher({ repo: pfs.repo, glob: pfs.glob });
  if (found === undefined) return [];
  const glob = compileGlob(pfs.glob);
  return found.matches.map((m) => {
    // Pachyderm fills the templates from the path without its trailing slash.
    const bare = m.path.replace(/\/+$/, '');
    const joinKey = glob.replace(bare, pfs.joinOn);
    const groupKey = glob.replace(bare, pfs.groupBy);
    const input: DatumInput = {
      name: pfs.name,
      repo: pfs.repo,
      commit: found.commit,
      path: m.type === 'dir' ? (bare === '' ? '/' : bare) : m.path,
      type: m.type,
    };
    if (joinKey !== '') input.joinOn = joinKey;
    if (groupKey !== '') input.groupBy = groupKey;
    if (pfs.outerJoin) input.outerJoin = true;
    if (pfs.lazy) input.lazy = true;
    if (pfs.emptyFiles) input.emptyFiles = true;
    return [{ input, joinKey, groupKey }];
  });
}

/** For each child, its datum inputs bucketed by key, one input at a time (as Pachyderm does). */
async function childBuckets(children: readonly Input[], matcher: LeafMatcher, key: 'joinKey' | 'groupKey'): Promise<Array<Map<string, Item[]>>> {
  const out: Array<Map<string, Item[]>> = [];
  for (const child of children) {
    const buckets = new Map<string, Item[]>();
    for (const datum of await itemLists(child, matcher)) {
      for (const item of datum) {
        const list = buckets.get(item[key]);
        if (list === undefined) buckets.set(item[key], [item]);
        else list.push(item);
      }
    }
    out.push(buckets);
  }
  return out;
}

function sortedKeys(buckets: ReadonlyArray<Map<string, Item[]>>): string[] {
  const keys = new Set<string>();
  for (const b of buckets) for (const k of b.keys()) keys.add(k);
  // Byte order, as Go compares strings.
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function joinItems(buckets: ReadonlyArray<Map<string, Item[]>>): Item[][] {
  const out: Item[][] = [];
  for (const key of sortedKeys(buckets)) {
    const present = buckets.map((b) => b.get(key)).filter((l): l is Item[] => l !== undefined);
    let combos: Item[][] = [[]];
    for (const list of present) {
      const next: Item[][] = [];
      for (const a of combos) for (const item of list) next.push([...a, item]);
      combos = next;
    }
    for (const combo of combos) {
      if (present.length === buckets.length) {
        out.push(combo);
        continue;
      }
      const outer = combo.filter((i) => i.input.outerJoin === true);
      if (outer.length > 0) out.push(outer);
    }
  }
  return out;
}

function groupItems(buckets: ReadonlyArray<Map<string, Item[]>>): Item[][] {
  return sortedKeys(buckets).map((key) => buckets.flatMap((b) => b.get(key) ?? []));
}

/** A digest of a datum's inputs: names, paths and the chunk hashes of every file under them. */
async function datumId(pfs: Pfs, inputs: DatumInput[]): Promise<string> {
  const h = createHash('sha256');
  for (const inp of inputs) {
    h.update(`${inp.name}\0${inp.path}\0`);
    const view = await pfs.files.view(inp.repo, inp.commit);
    if (inp.type === 'file') {
      const v = await get(view.reader, view.root, inp.path);
      if (isFileValue(v)) for (const [c] of v.c) h.update(c);
    } else {
      const prefix = dirKey(inp.path);
      for await (const [k, v] of range(view.reader, view.root, { prefix })) {
        if (!isFileValue(v)) continue;
        h.update(k);
        for (const [c] of v.c) h.update(c);
      }
    }
    h.update('\n');
  }
  return h.digest('hex').slice(0, 32);
}

/** The skip key: the same datum under the same salt has the same output. */
export function datumHash(salt: string, id: string): string {
  return createHash('sha256').update(`${salt}\0${id}`).digest('hex');
}
