/**
 * Datums: the units of work a job is split into. For each pfs (or cron) input the glob pattern
 * is matched against the input commit's tree (each match is one datum: the file or directory at
 * `/pfs/<name><path>`); `cross` takes the cartesian product of its children's datums and `union`
 * their concatenation, as Pachyderm does.
 *
 * Each datum gets an id from its inputs' paths and contents, so the same files under the same
 * names always make the same datum; the hash that decides whether a datum can be skipped adds the
 * pipeline's salt (which changes on create and on `update --reprocess`).
 */
import { createHash } from 'node:crypto';
import type { DatumInput } from '../api/pps-types.js';
import type { CommitRef } from '../api/types.js';
import { SluiceError } from '../errors/index.js';
import type { Pfs } from '../pfs/index.js';
import { dirKey, isFileValue } from '../pfs/entries.js';
import { globTree } from '../pfs/file-reader.js';
import { get, range } from '../pfs/tree/index.js';
import type { Input } from './spec/index.js';

export interface Datum {
  id: string;
  inputs: DatumInput[];
}

/** Where each leaf input (pfs or cron) reads from: input repo -> commit (names may repeat in a union). */
export type InputCommits = Map<string, CommitRef>;

export async function computeDatums(pfs: Pfs, input: Input, commits: InputCommits): Promise<Datum[]> {
  const lists = await datumLists(pfs, input, commits);
  const out: Datum[] = [];
  for (const inputs of lists) out.push({ id: await datumId(pfs, inputs), inputs });
  return out;
}

async function datumLists(pfs: Pfs, input: Input, commits: InputCommits): Promise<DatumInput[][]> {
  if (input.pfs !== undefined || input.cron !== undefined) {
    const name = input.pfs?.name ?? input.cron!.name;
    const glob = input.pfs?.glob ?? '/';
    const commit = commits.get(input.pfs?.repo ?? input.cron!.repo);
    if (commit === undefined) return [];
    const view = await pfs.files.view(commit.repo, commit.id);
    const matches = await globTree(view, glob);
    return matches.map((m) => [{
      name,
      repo: commit.repo,
      commit: commit.id,
      path: m.type === 'dir' ? (m.path === '/' ? '/' : m.path.replace(/\/$/, '')) : m.path,
      type: m.type,
    }]);
  }
  if (input.cross !== undefined) {
    let acc: DatumInput[][] = [[]];
    for (const child of input.cross) {
      const lists = await datumLists(pfs, child, commits);
      const next: DatumInput[][] = [];
      for (const a of acc) for (const b of lists) next.push([...a, ...b]);
      acc = next;
    }
    return acc;
  }
  if (input.union !== undefined) {
    const out: DatumInput[][] = [];
    for (const child of input.union) out.push(...(await datumLists(pfs, child, commits)));
    return out;
  }
  throw new SluiceError('PPS_SPEC_INVALID', 'join and group inputs are not supported yet; use pfs, cross, union or cron');
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
