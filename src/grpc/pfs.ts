/**
 * pfs_v2.API over Sluice's pfs layer: a thin adapter over the same services the HTTP routes call
 * (`PfsService`, `Uploads`, `FileReader`, `Fsck`), each method guarded by the HTTP route whose
 * rule it shares (route-table.ts).
 *
 * ModifyFile stages everything in one private upload (as `put file` does over HTTP) and commits
 * it in one transaction only after the client half-closed the stream: a stream the client
 * cancels, or one with a bad message, aborts the upload and changes nothing. Consecutive
 * `add_file` messages for one path are one streamed append (python-pachyderm sends a file as a
 * `delete_file` followed by `add_file` chunks of up to 19 MiB). `add_file.url` is refused.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { EventQueue } from '../lib/event-queue.js';
import type { BranchInfo, CommitInfo, FileInfo } from '../api/types.js';
import { API_PREFIX } from '../api/types.js';
import { SluiceError, isSluiceError } from '../errors/index.js';
import { isCommitId } from '../lib/names.js';
import { cleanPath } from '../lib/paths.js';
import type { StageOp } from '../pfs/index.js';
import type { GrpcDeps, GrpcRegistry, RouteView } from './registry.js';
import { spoutCommitProvenance } from './pps.js';
import {
  branchInfoMsg, branchTarget, checkProject, commitInfoMsg, commitMsg, commitTarget, DEFAULT_PROJECT, fileInfoMsg, fileTarget,
  repoInfoMsg, repoMsg, repoName, resolvedCommitMsg, timestamp,
  type BranchMsg, type CommitMsg, type FileMsg, type ProjectMsg, type RepoMsg,
} from './pfs-convert.js';

const P = API_PREFIX;
/** Bytes per GetFile / GetFileTAR message: well below every client's default receive limit. */
const READ_MESSAGE_BYTES = 1024 * 1024;

type Empty = Record<string, never>;
const EMPTY: Empty = {};

// ---- request shapes ----
interface CreateRepoReq { repo: RepoMsg | null; description: string; update: boolean }
interface RepoReq { repo: RepoMsg | null }
interface ListRepoReq { type: string; projects: ProjectMsg[] }
interface DeleteRepoReq { repo: RepoMsg | null; force: boolean }
interface DeleteReposReq { projects: ProjectMsg[]; force: boolean; all: boolean }
interface StartCommitReq { parent: CommitMsg | null; description: string; branch: BranchMsg | null }
interface FinishCommitReq { commit: CommitMsg | null; description: string; error: string; force: boolean }
interface InspectCommitReq { commit: CommitMsg | null; wait: string }
interface ListCommitReq { repo: RepoMsg | null; from: CommitMsg | null; to: CommitMsg | null; number: number; reverse: boolean; all: boolean; origin_kind: string }
interface CommitSetReq { commit_set: { id: string } | null; wait?: boolean }
interface SubscribeCommitReq { repo: RepoMsg | null; branch: string; from: CommitMsg | null; state: string; all: boolean; origin_kind: string }
interface CreateBranchReq { head: CommitMsg | null; branch: BranchMsg | null; provenance: BranchMsg[]; trigger: unknown; new_commit_set: boolean }
interface BranchReq { branch: BranchMsg | null; force?: boolean }
interface ListBranchReq { repo: RepoMsg | null; reverse: boolean }
interface GetFileReq { file: FileMsg | null; URL: string; offset: number }
interface FileReq { file: FileMsg | null }
interface ListFileReq { file: FileMsg | null; paginationMarker: FileMsg | null; number: number; reverse: boolean }
interface GlobFileReq { commit: CommitMsg | null; pattern: string }
interface DiffFileReq { new_file: FileMsg | null; old_file: FileMsg | null; shallow: boolean }
interface FsckReq { fix: boolean }
interface AddFileMsg { path: string; datum: string; source?: 'raw' | 'url'; raw: { value: Buffer } | null; url: { URL: string } | null }
interface ModifyFileReq {
  body?: 'set_commit' | 'add_file' | 'delete_file' | 'copy_file';
  set_commit: CommitMsg | null;
  add_file: AddFileMsg | null;
  delete_file: { path: string } | null;
  copy_file: { dst: string; src: FileMsg | null; append: boolean } | null;
}

// ---- guards: the HTTP route each method shares its rule with ----
const repoView = (route: string, repo: string, extra: Omit<RouteView, 'route'> = {}): RouteView => ({
  route: route as RouteView['route'],
  ...extra,
  params: { repo, ...(extra.params ?? {}) },
});
const commitView = (route: string, c: { repo: string; ref: string }, query?: Record<string, unknown>): RouteView => ({
  route: route as RouteView['route'],
  params: { repo: c.repo, ref: c.ref },
  ...(query !== undefined ? { query } : {}),
});

async function* each<T, R>(items: Promise<T[]> | T[], map: (t: T) => R): AsyncGenerator<R> {
  for (const t of await items) yield map(t);
}

/** Re-slices a byte stream into messages of at most READ_MESSAGE_BYTES, skipping `offset` bytes. */
async function* bytesMessages(body: Readable, offset = 0, signal?: AbortSignal): AsyncGenerator<{ value: Buffer }> {
  let skip = offset;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (signal?.aborted === true) return;
      let buf = chunk;
      if (skip > 0) {
        if (buf.length <= skip) {
          skip -= buf.length;
          continue;
        }
        buf = buf.subarray(skip);
        skip = 0;
      }
      for (let i = 0; i < buf.length; i += READ_MESSAGE_BYTES) yield { value: buf.subarray(i, i + READ_MESSAGE_BYTES) };
    }
  } finally {
    body.destroy();
  }
}

function originMatches(c: CommitInfo, kind: string): boolean {
  return kind === '' || kind === 'ORIGIN_KIND_UNKNOWN' || c.origin === kind;
}

export function registerPfs(registry: GrpcRegistry, deps: GrpcDeps): void {
  const { service: svc, uploads, files } = deps.pfs;
  const s = registry.service('pfs_v2/pfs.proto', 'pfs_v2.API');

  // ---- repos ----
  s.unary<CreateRepoReq, Empty>('CreateRepo', (r) => ({ route: `POST ${P}/repos`, body: { name: repoName(r.repo) } }), async (r) => {
    if (r.repo !== null && r.repo.type !== '' && r.repo.type !== 'user') {
      throw new SluiceError('INVALID_ARGUMENT', `only user repos can be created (repo type ${JSON.stringify(r.repo.type)} is made by pipelines)`, { details: { type: r.repo.type } });
    }
    await svc.createRepo({ name: repoName(r.repo), description: r.description, ...(r.update ? { update: true } : {}) });
    return EMPTY;
  });
  s.unary<RepoReq, unknown>('InspectRepo', (r) => repoView(`GET ${P}/repos/:repo`, repoName(r.repo)), async (r) => repoInfoMsg(await svc.inspectRepo(repoName(r.repo))));
  s.serverStream<ListRepoReq, unknown>('ListRepo', () => ({ route: `GET ${P}/repos` }), (r) => {
    for (const p of r.projects) checkProject(p);
    return each(svc.listRepos({ all: true }).then((all) => all.filter((x) => r.type === '' || x.type === r.type)), repoInfoMsg);
  });
  s.unary<DeleteRepoReq, Empty>('DeleteRepo', (r) => repoView(`DELETE ${P}/repos/:repo`, repoName(r.repo)), async (r) => {
    // As in Pachyderm, deleting a repo that does not exist succeeds (clients rely on it to clean up).
    await svc.deleteRepo(repoName(r.repo), { force: r.force }).catch((err: unknown) => {
      if (!isSluiceError(err, 'PFS_REPO_NOT_FOUND')) throw err;
    });
    return EMPTY;
  });
  s.unary<DeleteReposReq, unknown>('DeleteRepos', () => ({ route: `POST ${P}/delete-all` }), async (r) => {
    for (const p of r.projects) checkProject(p);
    if (!r.all && r.projects.length === 0) throw new SluiceError('INVALID_ARGUMENT', 'DeleteRepos needs all=true or a project', { details: { field: 'all' } });
    const gone: RepoMsg[] = [];
    for (const repo of await svc.listRepos()) {
      await svc.deleteRepo(repo.name, { force: r.force });
      gone.push(repoMsg(repo.name));
    }
    return { repos: gone };
  });
  s.unary<Empty, Empty>('DeleteAll', () => ({ route: `POST ${P}/delete-all` }), async () => {
    await deps.pps?.pipelines.deleteAll();
    for (const r of await svc.listRepos({ all: true })) await svc.deleteRepo(r.name, { force: true });
    return EMPTY;
  });

  // ---- commits ----
  s.unary<StartCommitReq, CommitMsg>('StartCommit', (r) => {
    const b = branchTarget(r.branch);
    return repoView(`POST ${P}/repos/:repo/commits`, b.repo, { body: { branch: b.branch } });
  }, async (r, ctx) => {
    const b = branchTarget(r.branch);
    const parent = r.parent === null ? undefined : commitTarget(r.parent, 'parent');
    const provenance = await spoutCommitProvenance(deps.pps, ctx.caller, b.repo);
    if (parent !== undefined && parent.repo !== b.repo) throw new SluiceError('INVALID_ARGUMENT', `parent commit is in repo ${parent.repo}, not ${b.repo}`, { details: { field: 'parent' } });
    const c = await svc.startCommit(b.repo, {
      branch: b.branch,
      ...(parent !== undefined ? { parent: parent.ref } : {}),
      ...(r.description !== '' ? { description: r.description } : {}),
      ...(provenance.length > 0 ? { provenance } : {}),
    });
    return commitMsg(c.repo, c.id, c.branch);
  });
  s.unary<FinishCommitReq, Empty>('FinishCommit', (r) => commitView(`POST ${P}/repos/:repo/commits/:ref/finish`, commitTarget(r.commit)), async (r) => {
    if (r.error !== '') throw new SluiceError('INVALID_ARGUMENT', 'Sluice does not record failed commits: finish without an error, or delete the commit', { details: { field: 'error' } });
    const t = commitTarget(r.commit);
    await svc.finishCommit(t.repo, t.ref, r.description !== '' ? { description: r.description } : {});
    return EMPTY;
  });
  s.unary<InspectCommitReq, unknown>('InspectCommit', (r) => commitView(`GET ${P}/repos/:repo/commits/:ref`, commitTarget(r.commit)), async (r, ctx) => {
    const t = commitTarget(r.commit);
    const wait = r.wait === 'FINISHING' || r.wait === 'FINISHED';
    const c = wait ? await svc.waitCommit(t.repo, t.ref, ctx.signal) : await svc.inspectCommit(t.repo, t.ref);
    return { ...commitInfoMsg(c), commit: resolvedCommitMsg(r.commit, c) };
  });
  s.serverStream<ListCommitReq, unknown>('ListCommit', (r) => repoView(`GET ${P}/repos/:repo/commits`, repoName(r.repo)), (r) => {
    const repo = repoName(r.repo);
    const opts: { branch?: string; limit?: number; from?: string } = {};
    if (r.to !== null) opts.branch = commitTarget({ ...r.to, repo: r.to.repo ?? r.repo }, 'to').ref;
    if (r.from !== null) opts.from = commitTarget({ ...r.from, repo: r.from.repo ?? r.repo }, 'from').ref;
    if (r.number > 0 && !r.reverse) opts.limit = r.number;
    return each(svc.listCommits(repo, opts).then((list) => {
      let out = list.filter((c) => originMatches(c, r.origin_kind));
      if (r.reverse) out = out.reverse();
      return r.number > 0 ? out.slice(0, r.number) : out;
    }), commitInfoMsg);
  });
  s.serverStream<SubscribeCommitReq, unknown>('SubscribeCommit', (r) => repoView(`GET ${P}/repos/:repo/subscribe`, repoName(r.repo)), (r, ctx) => {
    const repo = repoName(r.repo);
    const opts: { branch?: string; from?: string; signal: AbortSignal } = { signal: ctx.signal };
    if (r.branch !== '') opts.branch = r.branch;
    if (r.from !== null) opts.from = commitTarget({ ...r.from, repo: r.from.repo ?? r.repo }, 'from').ref;
    const started = r.state === 'STARTED' || r.state === 'READY' || r.state === 'COMMIT_STATE_UNKNOWN' || r.state === '';
    return (async function* () {
      await svc.inspectRepo(repo);
      if (opts.from !== undefined) await svc.inspectCommit(repo, opts.from);
      const source = started ? subscribeStarted(deps, repo, opts) : svc.subscribeCommits(repo, opts);
      for await (const c of source) if (originMatches(c, r.origin_kind)) yield commitInfoMsg(c);
    })();
  });
  const setId = (r: CommitSetReq): string => {
    const id = r.commit_set?.id ?? '';
    if (id === '') throw new SluiceError('INVALID_ARGUMENT', 'commit_set.id is required', { details: { field: 'commit_set.id' } });
    return id;
  };
  const setView = (r: CommitSetReq): RouteView => ({ route: `GET ${P}/commit-sets/:id`, params: { id: setId(r) } });
  s.serverStream<CommitSetReq, unknown>('InspectCommitSet', setView, (r, ctx) => (async function* () {
    for (const c of await svc.listCommitSet(setId(r))) yield commitInfoMsg(r.wait === true ? await svc.waitCommit(c.repo, c.id, ctx.signal) : c);
  })());
  s.unary<CommitSetReq, Empty>('SquashCommitSet', setView, async (r, ctx) => {
    const commits = await svc.listCommitSet(setId(r));
    for (const c of commits) await ctx.authorize(commitView(`POST ${P}/repos/:repo/commits/:ref/squash`, { repo: c.repo, ref: c.id }));
    for (const c of commits) await svc.squashCommit(c.repo, c.id);
    return EMPTY;
  });
  s.unary<CommitSetReq, Empty>('DropCommitSet', setView, async (r, ctx) => {
    const commits = await svc.listCommitSet(setId(r));
    for (const c of commits) await ctx.authorize(commitView(`DELETE ${P}/repos/:repo/commits/:ref`, { repo: c.repo, ref: c.id }));
    // Downstream commits first: a commit with dependents cannot go before them.
    for (const c of [...commits].reverse()) await svc.deleteCommit(c.repo, c.id);
    return EMPTY;
  });

  // ---- branches ----
  s.unary<CreateBranchReq, Empty>('CreateBranch', (r) => {
    const b = branchTarget(r.branch);
    return repoView(`POST ${P}/repos/:repo/branches`, b.repo, { body: { name: b.branch, provenance: r.provenance.map((p) => ({ repo: repoName(p.repo, 'provenance.repo') })) } });
  }, async (r) => {
    const b = branchTarget(r.branch);
    if (r.trigger !== null) throw new SluiceError('INVALID_ARGUMENT', 'branch triggers are not supported by Sluice', { details: { field: 'trigger' } });
    let head: string | undefined;
    if (r.head !== null) {
      const h = commitTarget({ ...r.head, repo: r.head.repo ?? r.branch?.repo ?? null }, 'head');
      if (h.repo !== b.repo) throw new SluiceError('INVALID_ARGUMENT', `head is in repo ${h.repo}, not ${b.repo}`, { details: { field: 'head' } });
      head = h.ref;
    }
    const provenance = r.provenance.map((p) => {
      const t = branchTarget(p, 'provenance');
      return { repo: t.repo, branch: t.branch };
    });
    await svc.createBranch(b.repo, { name: b.branch, ...(head !== undefined ? { head } : {}), ...(provenance.length > 0 ? { provenance } : {}) });
    return EMPTY;
  });
  s.unary<BranchReq, unknown>('InspectBranch', (r) => {
    const b = branchTarget(r.branch);
    return repoView(`GET ${P}/repos/:repo/branches/:branch`, b.repo, { params: { branch: b.branch } });
  }, async (r) => {
    const b = branchTarget(r.branch);
    return branchInfoMsg(await svc.inspectBranch(b.repo, b.branch));
  });
  s.serverStream<ListBranchReq, unknown>('ListBranch', (r) => repoView(`GET ${P}/repos/:repo/branches`, repoName(r.repo)), (r) =>
    each(svc.listBranches(repoName(r.repo)).then((l) => {
      const shown = l.filter((b) => !isUnbornMaster(b));
      return r.reverse ? shown.reverse() : shown;
    }), branchInfoMsg));
  s.unary<BranchReq, Empty>('DeleteBranch', (r) => {
    const b = branchTarget(r.branch);
    return repoView(`DELETE ${P}/repos/:repo/branches/:branch`, b.repo, { params: { branch: b.branch } });
  }, async (r) => {
    const b = branchTarget(r.branch);
    await svc.deleteBranch(b.repo, b.branch, { force: r.force === true });
    return EMPTY;
  });

  // ---- files: writes ----
  s.clientStream<ModifyFileReq, Empty>('ModifyFile', { route: `POST ${P}/uploads` }, async (messages, ctx) => {
    const it = messages[Symbol.asyncIterator]();
    let target: { repo: string; ref: string } | undefined;
    let uploadId: string | undefined;
    const need = (what: string): string => {
      if (uploadId === undefined) throw new SluiceError('INVALID_ARGUMENT', `ModifyFile: ${what} came before set_commit; the first message must name the commit`, { details: { field: 'set_commit' } });
      return uploadId;
    };
    try {
      let next = await it.next();
      /**
       * A run of consecutive add_file / delete_file messages as upload operations, for ONE
       * `stageMany` (one pack, one transaction). Each add_file, with the add_file messages of the
       * same path right after it, is one appended body; `next` is kept one message ahead.
       */
      const run = async function* (): AsyncGenerator<StageOp> {
        while (next.done !== true && (next.value.body === 'add_file' || next.value.body === 'delete_file')) {
          const m: ModifyFileReq = next.value;
          if (m.body === 'delete_file') {
            yield { op: 'delete', path: m.delete_file!.path };
            next = await it.next();
            continue;
          }
          const af = m.add_file!;
          if (af.source === 'url') {
            throw new SluiceError('NOT_IMPLEMENTED', `ModifyFile: add_file from a URL (${af.url?.URL ?? ''}) is not supported by Sluice; fetch it and send its bytes`, { details: { field: 'add_file.url' } });
          }
          const path = af.path;
          const first = af.raw?.value;
          let read = false;
          const body = async function* (): AsyncGenerator<Uint8Array> {
            if (first !== undefined && first.length > 0) yield first;
            for (;;) {
              next = await it.next();
              const a = next.done === true ? undefined : next.value.add_file;
              if (next.done === true || next.value.body !== 'add_file' || a === null || a === undefined || a.path !== path || a.source === 'url') break;
              const v = a.raw?.value;
              if (v !== undefined && v.length > 0) yield v;
            }
            read = true;
          };
          yield { op: 'append', path, body: body() };
          if (!read) throw new SluiceError('INTERNAL', 'ModifyFile: a file body was not read to its end');
        }
      };
      while (next.done !== true) {
        const m = next.value;
        switch (m.body) {
          case 'set_commit': {
            if (target !== undefined) throw new SluiceError('INVALID_ARGUMENT', 'ModifyFile: set_commit may be sent once, first', { details: { field: 'set_commit' } });
            target = commitTarget(m.set_commit, 'set_commit');
            await ctx.authorize(commitView(`PUT ${P}/repos/:repo/commits/:ref/file`, target));
            // Refuse a missing repo before any byte is stored.
            await svc.inspectRepo(target.repo);
            uploadId = await uploads.create();
            next = await it.next();
            break;
          }
          case 'add_file':
          case 'delete_file':
            await uploads.stageMany(need(m.body), run());
            break;
          case 'copy_file': {
            const id = need('copy_file');
            const cf = m.copy_file!;
            const src = fileTarget(cf.src, 'copy_file.src');
            await ctx.authorize(commitView(`GET ${P}/repos/:repo/commits/:ref/file`, src, { path: src.path }));
            await uploads.copyFile(id, { src, dst: cf.dst, ...(cf.append ? { append: true } : {}) });
            next = await it.next();
            break;
          }
          default:
            throw new SluiceError('INVALID_ARGUMENT', 'ModifyFile: a message with no operation (set_commit, add_file, delete_file or copy_file)', { details: { field: 'body' } });
        }
      }
      if (target === undefined || uploadId === undefined) {
        throw new SluiceError('INVALID_ARGUMENT', 'ModifyFile: the stream named no commit (set_commit)', { details: { field: 'set_commit' } });
      }
      if (ctx.signal.aborted) throw new SluiceError('UNAVAILABLE', 'ModifyFile was cancelled by the client; nothing was changed');
      // A spout's own commit carries provenance on its spec commit, as `put file` gives it.
      const provenance = await spoutCommitProvenance(deps.pps, ctx.caller, target.repo);
      await uploads.commit(uploadId, { repo: target.repo, ref: target.ref, ...(provenance.length > 0 ? { provenance } : {}) });
      uploadId = undefined;
      return EMPTY;
    } finally {
      if (uploadId !== undefined) await uploads.abort(uploadId).catch(() => undefined);
    }
  });

  // ---- files: reads ----
  const fileView = (route: string) => (r: FileReq): RouteView => {
    const f = fileTarget(r.file);
    return commitView(route, f, { path: f.path });
  };
  const refuseUrl = (r: GetFileReq): void => {
    if (r.URL !== '') throw new SluiceError('NOT_IMPLEMENTED', 'GetFile to a URL is not supported by Sluice; read the bytes and upload them yourself', { details: { field: 'URL' } });
  };
  s.serverStream<GetFileReq, { value: Buffer }>('GetFile', fileView(`GET ${P}/repos/:repo/commits/:ref/file`), (r, ctx) => (async function* () {
    refuseUrl(r);
    const f = fileTarget(r.file);
    const { body } = await files.getFile(f.repo, f.ref, f.path);
    yield* bytesMessages(body, r.offset, ctx.signal);
  })());
  s.serverStream<GetFileReq, { value: Buffer }>('GetFileTAR', fileView(`GET ${P}/repos/:repo/commits/:ref/file`), (r, ctx) => (async function* () {
    refuseUrl(r);
    const f = fileTarget(r.file);
    yield* bytesMessages(await files.getTar(f.repo, f.ref, f.path), r.offset, ctx.signal);
  })());
  s.unary<FileReq, unknown>('InspectFile', fileView(`GET ${P}/repos/:repo/commits/:ref/stat`), async (r) => {
    const f = fileTarget(r.file);
    const info = await files.inspectFile(f.repo, f.ref, f.path).catch((err: unknown) => {
      // Pachyderm names the missing branch, and python-pachyderm's path_exists parses that.
      if (isSluiceError(err, 'PFS_REPO_NOT_FOUND') && !isCommitId(f.ref)) {
        throw new SluiceError('PFS_BRANCH_NOT_FOUND', `branch ${f.ref} not found in repo ${f.repo}`, { details: { repo: f.repo, branch: f.ref } });
      }
      throw err;
    });
    return fileInfoMsg(info, resolvedRef(r.file, info));
  });
  s.serverStream<ListFileReq, unknown>('ListFile', fileView(`GET ${P}/repos/:repo/commits/:ref/files`), (r) => (async function* () {
    const f = fileTarget(r.file);
    let list = await files.listFile(f.repo, f.ref, f.path);
    if (r.reverse) list = list.reverse();
    const marker = r.paginationMarker?.path ?? '';
    if (marker !== '') list = list.filter((x) => (r.reverse ? x.path < marker : x.path > marker));
    if (r.number > 0) list = list.slice(0, r.number);
    for (const x of list) yield fileInfoMsg(x, resolvedRef(r.file, x));
  })());
  s.serverStream<ListFileReq, unknown>('WalkFile', fileView(`GET ${P}/repos/:repo/commits/:ref/files`), (r, ctx) => (async function* () {
    const f = fileTarget(r.file);
    const top = await files.inspectFile(f.repo, f.ref, f.path);
    let n = 0;
    const limit = r.number > 0 ? r.number : Infinity;
    const marker = r.paginationMarker?.path ?? '';
    // Depth first in path order: a directory, then what it holds.
    const walk = async function* (info: FileInfo): AsyncGenerator<unknown> {
      if (ctx.signal.aborted || n >= limit) return;
      if (marker === '' || info.path > marker) {
        n++;
        yield fileInfoMsg(info, resolvedRef(r.file, info));
      }
      if (info.type !== 'dir') return;
      for (const child of await files.listFile(f.repo, f.ref, info.path)) yield* walk(child);
    };
    yield* walk(top);
  })());
  s.serverStream<GlobFileReq, unknown>('GlobFile', (r) => {
    const c = commitTarget(r.commit);
    return commitView(`GET ${P}/repos/:repo/commits/:ref/glob`, c, { pattern: r.pattern });
  }, (r) => (async function* () {
    const c = commitTarget(r.commit);
    for (const x of await files.globFile(c.repo, c.ref, r.pattern)) yield fileInfoMsg(x, resolvedCommitMsg(r.commit, x.commit));
  })());
  s.serverStream<DiffFileReq, unknown>('DiffFile', (r) => {
    const n = fileTarget(r.new_file, 'new_file');
    const views: RouteView[] = [commitView(`GET ${P}/repos/:repo/commits/:ref/diff`, n, { path: n.path })];
    if (r.old_file !== null && r.old_file.commit !== null) views.push(commitView(`GET ${P}/repos/:repo/commits/:ref/diff`, fileTarget(r.old_file, 'old_file')));
    return views;
  }, (r) => (async function* () {
    const n = fileTarget(r.new_file, 'new_file');
    const old = r.old_file !== null && r.old_file.commit !== null ? fileTarget(r.old_file, 'old_file') : undefined;
    if (old !== undefined && old.repo !== n.repo) throw new SluiceError('INVALID_ARGUMENT', `old_file is in repo ${old.repo}, not ${n.repo}: Sluice diffs within one repo`, { details: { field: 'old_file' } });
    const newCommit = await svc.inspectCommit(n.repo, n.ref);
    const newMsg = resolvedCommitMsg(r.new_file?.commit, newCommit);
    if (old !== undefined && cleanPath(old.path) !== cleanPath(n.path)) {
      // Two different paths: nothing pairs up, so every file under the new path is new and every
      // file under the old one is old, merged in path order.
      const oldCommit = await svc.inspectCommit(old.repo, old.ref);
      const oldMsg = resolvedCommitMsg(r.old_file?.commit, oldCommit);
      const sides = [
        ...(await filesUnder(n.repo, newCommit.id, n.path)).map((f) => ({ path: f.path, msg: { new_file: fileInfoMsg(f, newMsg), old_file: null } })),
        ...(await filesUnder(old.repo, oldCommit.id, old.path)).map((f) => ({ path: f.path, msg: { new_file: null, old_file: fileInfoMsg(f, oldMsg) } })),
      ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      for (const x of sides) yield x.msg;
      return;
    }
    const oldRef = old?.ref ?? newCommit.parent ?? undefined;
    const diffs = await files.diffFile(n.repo, n.ref, oldRef, n.path);
    const oldMsg = oldRef === undefined ? null : commitMsg(n.repo, (await svc.inspectCommit(n.repo, oldRef)).id);
    for (const d of diffs) {
      const side = (size: number | null, commit: CommitMsg | null): unknown =>
        size === null || commit === null ? null : fileInfoMsg({ path: d.path, type: d.type, sizeBytes: size, commit: { repo: n.repo, id: commit.id } }, commit);
      yield { new_file: side(d.newSizeBytes, newMsg), old_file: side(d.oldSizeBytes, oldMsg) };
    }
  })());

  /** The files (not directories) at or under a path: one for a file, all beneath for a directory. */
  const filesUnder = async (repo: string, ref: string, path: string): Promise<FileInfo[]> => {
    const top = await files.inspectFile(repo, ref, path);
    if (top.type !== 'dir') return [top];
    const out: FileInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const c of await files.listFile(repo, ref, dir)) {
        if (c.type === 'dir') await walk(c.path);
        else out.push(c);
      }
    };
    await walk(top.path);
    return out;
  };

  // ---- admin ----
  s.serverStream<FsckReq, { fix: string; error: string }>('Fsck', () => ({ route: `POST ${P}/fsck` }), (r) => (async function* () {
    if (r.fix) throw new SluiceError('INVALID_ARGUMENT', 'Fsck with fix is not supported by Sluice: it reports what is wrong and repairs nothing', { details: { field: 'fix' } });
    const report = await deps.pfs.fsck.run();
    for (const e of report.errors) yield { fix: '', error: `${e.repo}@${e.commit}: ${e.message}` };
  })());

  // ---- projects: Sluice has one ----
  const project = { project: { name: DEFAULT_PROJECT }, description: 'Sluice has one project; every repo is in it.', auth_info: null, created_at: timestamp(0) };
  s.unary<{ project: ProjectMsg | null }, unknown>('InspectProject', () => ({ route: `GET ${P}/auth/whoami` }), async (r) => {
    checkProject(r.project ?? { name: DEFAULT_PROJECT });
    return project;
  });
  s.serverStream<Empty, unknown>('ListProject', () => ({ route: `GET ${P}/auth/whoami` }), () => each([project], (p) => p));

  s.notServed('ClearCommit', 'Sluice cannot empty an open commit; delete it (DropCommitSet) and start another');
  s.serverStream<{ project: ProjectMsg | null }, unknown>('ListCommitSet', () => ({ route: `GET ${P}/repos` }), (r) => (async function* () {
    checkProject(r.project);
    // Every commit of every repo, grouped by id (Pachyderm's global commit), newest set first.
    const sets = new Map<string, CommitInfo[]>();
    for (const repo of await svc.listRepos({ all: true })) {
      for (const c of await svc.listCommits(repo.name)) {
        const list = sets.get(c.id);
        if (list === undefined) sets.set(c.id, [c]);
        else list.push(c);
      }
    }
    const ordered = [...sets.entries()].sort((a, b) => Math.max(...b[1].map((c) => c.started)) - Math.max(...a[1].map((c) => c.started)));
    for (const [id, commits] of ordered) yield { commit_set: { id }, commits: commits.sort((a, b) => a.started - b.started).map(commitInfoMsg) };
  })());
}

/**
 * Commits of a repo (or one branch of it) as they START, Pachyderm's default subscription: those
 * stored (after `from`), oldest first, then each new one once, whether it was started open
 * (`commitStarted`) or made and finished in one step by an upload (`commitFinished` only).
 */
async function* subscribeStarted(deps: GrpcDeps, repo: string, opts: { branch?: string; from?: string; signal: AbortSignal }): AsyncGenerator<CommitInfo> {
  const events = deps.pfs.ctx.events;
  const relay = new EventEmitter();
  const forward = (info: CommitInfo): void => {
    relay.emit('commit', info);
  };
  // Listen before reading the store, so nothing that starts in between is missed.
  events.on('commitStarted', forward);
  events.on('commitFinished', forward);
  const live = new EventQueue<CommitInfo>(relay, 'commit', (c) => c.repo === repo && (opts.branch === undefined || c.branch === opts.branch));
  try {
    const seen = new Set<string>();
    const stored = await deps.pfs.service.listCommits(repo, { ...(opts.branch !== undefined ? { branch: opts.branch } : {}), ...(opts.from !== undefined ? { from: opts.from } : {}) });
    for (const c of stored.reverse()) {
      seen.add(c.id);
      yield c;
    }
    for await (const c of live.follow(opts.signal)) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      yield c;
    }
  } finally {
    live.close();
    events.off('commitStarted', forward);
    events.off('commitFinished', forward);
  }
}

/**
 * Sluice makes every repo with an empty `master` branch; Pachyderm makes a branch with its first
 * commit. Listing leaves such a branch out, so Pachyderm's clients see what they would there.
 */
function isUnbornMaster(b: BranchInfo): boolean {
  return b.name === 'master' && b.head === null && b.provenance.length === 0 && b.subvenance.length === 0;
}

/** The commit a file reply names: the resolved id, keeping the branch the caller named. */
function resolvedRef(requested: FileMsg | null, info: FileInfo): CommitMsg {
  return resolvedCommitMsg(requested?.commit, info.commit);
}

