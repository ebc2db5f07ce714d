/**
 * The SDK's portable core: every operation of the HTTP API as a method, over a `Transport`
 * that sends one request. It imports only `api/` and `errors/` and uses nothing of Node's
 * (no Buffer, no node: modules), so the same methods run in Node (the `Client` of
 * `client.ts`, over undici's pooled connections) and in a browser (`BrowserClient` of
 * `browser.ts`, over `fetch`; the web console uses it). Failed calls throw the same
 * `SluiceError` (same code) the server raised.
 *
 * @example
 * ```ts
 * const c = new BrowserClient({ baseUrl: location.origin, token });
 * for (const r of await c.listRepos()) console.log(r.name, r.sizeBytes);
 * ```
 */
import { API_PREFIX } from '../api/types.js';
import type {
  BranchInfo, BranchRef, CommitInfo, CommitRef, CommitUploadResponse, SpoutCommitStats, CreateBranchRequest, FileDiff,
  FileInfo, FsckReport, GcReport, RepoInfo, StartCommitRequest, VersionInfo,
} from '../api/types.js';
import type {
  ClaimRequest, CreatePipelineResponse, DatumInfo, DatumResult, DatumTask, JobInfo, LogLine, PipelineInfo, WorkerLogBatch,
  WorkerStateReport,
} from '../api/pps-types.js';
import type {
  AccessLevelsResponse, ActivateAuthResponse, ClusterRole, RepoRole, RevokeResponse, RobotTokenResponse, RoleBinding, WhoAmIResponse,
} from '../api/auth-types.js';
import { SluiceError } from '../errors/index.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'HEAD';

/** One request as a transport sends it; `body` is a string, bytes, or whatever the transport takes (B). */
export interface TransportRequest<B> {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string | B;
  signal?: AbortSignal;
}

/** One answer; exactly one of the readers is called, once. */
export interface TransportResponse {
  status: number;
  text(): Promise<string>;
  json(): Promise<unknown>;
  bytes(): Promise<Uint8Array>;
  /** The body as it arrives. */
  chunks(): AsyncIterable<Uint8Array>;
  /** Reads and drops the body (so a pooled connection can be reused). */
  dump(): Promise<void>;
}

export interface Transport<B, R extends TransportResponse = TransportResponse> {
  request(req: TransportRequest<B>): Promise<R>;
  close(): Promise<void>;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface CallOptions<B> {
  query?: Query;
  json?: unknown;
  body?: B;
  contentType?: string;
  signal?: AbortSignal;
}

function seg(s: string): string {
  return encodeURIComponent(s);
}

/**
 * The methods of the SDK. `B` is the type of file bodies the transport accepts; `R` its answers
 * (the Node client reads its streams).
 */
export class ClientCore<B, R extends TransportResponse = TransportResponse> {
  constructor(
    /** http://host:port */
    readonly baseUrl: string,
    protected readonly token: string | undefined,
    protected readonly transport: Transport<B, R>,
    /** Appended to "cannot reach the daemon" errors. */
    private readonly connectionHint = '',
  ) {}

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  // ---- low level ----

  protected async send(method: HttpMethod, path: string, opts: CallOptions<B> = {}): Promise<R> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const q = qs.toString();
    const url = `${this.baseUrl}${API_PREFIX}${path}${q !== '' ? `?${q}` : ''}`;
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const req: TransportRequest<B> = { method, url, headers };
    if (opts.signal !== undefined) req.signal = opts.signal;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      req.body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      req.body = opts.body;
    }
    let res: R;
    try {
      res = await this.transport.request(req);
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError') throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new SluiceError('CLIENT_CONNECTION_FAILED', `cannot reach the daemon at ${this.baseUrl} (${code || (err as Error).message})${this.connectionHint}`, { cause: err });
    }
    if (res.status >= 400) {
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      throw SluiceError.fromBody(parsed, `HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    return res;
  }

  protected async call<T>(method: HttpMethod, path: string, opts: CallOptions<B> = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    if (res.status === 204) {
      await res.dump();
      return undefined as T;
    }
    return (await res.json()) as T;
  }

  // ---- admin ----

  /** The daemon's version. */
  async version(): Promise<VersionInfo> {
    return this.call('GET', '/version');
  }

  /** Verifies every finished commit: tree nodes, chunk presence and chunk hashes. */
  async fsck(): Promise<FsckReport> {
    return this.call('POST', '/fsck');
  }

  /**
   * Runs the garbage collector: reclaims chunks and packs that no commit, open commit, upload or
   * datum output names. Safe beside live traffic.
   * @example const r = await client.gc(); console.log(r.bytesFreed);
   */
  async gc(): Promise<GcReport> {
    return this.call('POST', '/gc');
  }

  // ---- repos ----

  async createRepo(name: string, opts: { description?: string; update?: boolean } = {}): Promise<RepoInfo> {
    return this.call('POST', '/repos', { json: { name, ...opts } });
  }

  async listRepos(opts: { all?: boolean } = {}): Promise<RepoInfo[]> {
    return this.call('GET', '/repos', { query: { all: opts.all === true ? 'true' : undefined } });
  }

  async inspectRepo(name: string): Promise<RepoInfo> {
    return this.call('GET', `/repos/${seg(name)}`);
  }

  async deleteRepo(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.call('DELETE', `/repos/${seg(name)}`, { query: { force: opts.force === true ? 'true' : undefined } });
  }

  // ---- branches ----

  async createBranch(repo: string, name: string, opts: { head?: string; provenance?: BranchRef[] } = {}): Promise<BranchInfo> {
    const req: CreateBranchRequest = { name, ...opts };
    return this.call('POST', `/repos/${seg(repo)}/branches`, { json: req });
  }

  async listBranches(repo: string): Promise<BranchInfo[]> {
    return this.call('GET', `/repos/${seg(repo)}/branches`);
  }

  async inspectBranch(repo: string, name: string): Promise<BranchInfo> {
    return this.call('GET', `/repos/${seg(repo)}/branches/${seg(name)}`);
  }

  async deleteBranch(repo: string, name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.call('DELETE', `/repos/${seg(repo)}/branches/${seg(name)}`, { query: { force: opts.force === true ? 'true' : undefined } });
  }

  // ---- commits ----

  async startCommit(repo: string, branch: string, opts: Omit<StartCommitRequest, 'branch'> = {}): Promise<CommitInfo> {
    return this.call('POST', `/repos/${seg(repo)}/commits`, { json: { branch, ...opts } });
  }

  async finishCommit(repo: string, ref: string, opts: { description?: string } = {}): Promise<CommitInfo> {
    return this.call('POST', `/repos/${seg(repo)}/commits/${seg(ref)}/finish`, { json: opts });
  }

  async inspectCommit(repo: string, ref: string): Promise<CommitInfo> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}`);
  }

  async listCommits(repo: string, opts: { branch?: string; limit?: number; from?: string } = {}): Promise<CommitInfo[]> {
    return this.call('GET', `/repos/${seg(repo)}/commits`, { query: { ...opts } });
  }

  /** Every commit of a commit set (one id across repos). */
  async listCommitSet(id: string): Promise<CommitInfo[]> {
    return this.call('GET', `/commit-sets/${seg(id)}`);
  }

  /** Resolves when the commit has finished. */
  async waitCommit(repo: string, ref: string, opts: { signal?: AbortSignal } = {}): Promise<CommitInfo> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/wait`, opts.signal === undefined ? {} : { signal: opts.signal });
  }

  async deleteCommit(repo: string, ref: string): Promise<void> {
    await this.call('DELETE', `/repos/${seg(repo)}/commits/${seg(ref)}`);
  }

  async squashCommit(repo: string, ref: string): Promise<void> {
    await this.call('POST', `/repos/${seg(repo)}/commits/${seg(ref)}/squash`);
  }

  /**
   * Finished commits as they finish (after `from`, or all existing ones first unless `onlyNew`),
   * until the signal aborts or the iteration is stopped.
   */
  async *subscribeCommits(repo: string, opts: { branch?: string; from?: string; onlyNew?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<CommitInfo> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const res = await this.send('GET', `/repos/${seg(repo)}/subscribe`, {
        query: { branch: opts.branch, from: opts.from, new: opts.onlyNew === true ? 'true' : undefined },
        signal: ac.signal,
      });
      for await (const ev of ndjson<{ type: string; commit: CommitInfo }>(res, ac.signal)) {
        if (ev.type === 'commit') yield ev.commit;
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      ac.abort();
    }
  }

  // ---- files ----

  /** Starts an upload session: changes staged in it become visible only when it is committed. */
  async createUpload(): Promise<Upload<B>> {
    const { id } = await this.call<{ id: string }>('POST', '/uploads');
    return new Upload<B>(this, id);
  }

  /** @internal used by Upload */
  async uploadCall<T>(method: HttpMethod, path: string, opts: CallOptions<B>): Promise<T> {
    return this.call(method, path, opts);
  }

  /** Puts one file as one commit (or into the open commit at `ref`). */
  async putFile(repo: string, ref: string, path: string, body: B, opts: { append?: boolean; description?: string } = {}): Promise<CommitUploadResponse> {
    return this.call('PUT', `/repos/${seg(repo)}/commits/${seg(ref)}/file`, {
      query: { path, append: opts.append === true ? 'true' : undefined, description: opts.description },
      body,
    });
  }

  /** Extracts a tar stream under `path` as one commit. */
  async putTar(repo: string, ref: string, path: string, body: B, opts: { append?: boolean; description?: string } = {}): Promise<CommitUploadResponse> {
    return this.call('PUT', `/repos/${seg(repo)}/commits/${seg(ref)}/file`, {
      query: { path, tar: 'true', append: opts.append === true ? 'true' : undefined, description: opts.description },
      body,
      contentType: 'application/x-tar',
    });
  }

  /** A file's bytes (read whole; the Node SDK's `getFile` streams instead). */
  async getFileBytes(repo: string, ref: string, path: string): Promise<Uint8Array> {
    const res = await this.send('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/file`, { query: { path } });
    return res.bytes();
  }

  async listFile(repo: string, ref: string, path = '/'): Promise<FileInfo[]> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/files`, { query: { path } });
  }

  async inspectFile(repo: string, ref: string, path: string): Promise<FileInfo> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/stat`, { query: { path } });
  }

  async globFile(repo: string, ref: string, pattern: string): Promise<FileInfo[]> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/glob`, { query: { pattern } });
  }

  async diffFile(repo: string, ref: string, opts: { old?: string; path?: string } = {}): Promise<FileDiff[]> {
    return this.call('GET', `/repos/${seg(repo)}/commits/${seg(ref)}/diff`, { query: { ...opts } });
  }

  // ---- pipelines ----

  /**
   * Creates (or, with `update`, updates) the pipelines in a spec file's text: JSON or YAML, one
   * or several documents. The daemon parses it, so errors name the file, line and column.
   */
  async createPipeline(spec: string, opts: { file?: string; update?: boolean; reprocess?: boolean } = {}): Promise<CreatePipelineResponse> {
    return this.call('POST', '/pipelines', { json: { spec, ...opts } });
  }

  async listPipelines(opts: { history?: boolean } = {}): Promise<PipelineInfo[]> {
    return this.call('GET', '/pipelines', { query: { history: opts.history === true ? 'true' : undefined } });
  }

  async inspectPipeline(name: string): Promise<PipelineInfo> {
    return this.call('GET', `/pipelines/${seg(name)}`);
  }

  /** Every version of a pipeline, newest first. */
  async pipelineHistory(name: string): Promise<PipelineInfo[]> {
    return this.call('GET', `/pipelines/${seg(name)}/versions`);
  }

  async deletePipeline(name: string, opts: { keepRepo?: boolean; force?: boolean } = {}): Promise<void> {
    await this.call('DELETE', `/pipelines/${seg(name)}`, { query: { keepRepo: opts.keepRepo === true ? 'true' : undefined, force: opts.force === true ? 'true' : undefined } });
  }

  /** Deletes every pipeline (and its output repo unless `keepRepo`). */
  async deleteAllPipelines(opts: { keepRepo?: boolean } = {}): Promise<void> {
    await this.call('DELETE', '/pipelines', { query: { keepRepo: opts.keepRepo === true ? 'true' : undefined } });
  }

  /** Deletes every pipeline and every repo. */
  async deleteAll(): Promise<void> {
    await this.call('POST', '/delete-all');
  }

  async stopPipeline(name: string): Promise<PipelineInfo> {
    return this.call('POST', `/pipelines/${seg(name)}/stop`);
  }

  async startPipeline(name: string): Promise<PipelineInfo> {
    return this.call('POST', `/pipelines/${seg(name)}/start`);
  }

  // ---- jobs, datums, logs ----

  async listJobs(opts: { pipeline?: string } = {}): Promise<JobInfo[]> {
    return this.call('GET', '/jobs', { query: { pipeline: opts.pipeline } });
  }

  async inspectJob(pipeline: string, id: string): Promise<JobInfo> {
    return this.call('GET', `/pipelines/${seg(pipeline)}/jobs/${seg(id)}`);
  }

  /** Resolves when the job has ended (success, failure or killed). */
  async waitJob(pipeline: string, id: string, opts: { signal?: AbortSignal } = {}): Promise<JobInfo> {
    return this.call('GET', `/pipelines/${seg(pipeline)}/jobs/${seg(id)}/wait`, opts.signal === undefined ? {} : { signal: opts.signal });
  }

  async stopJob(pipeline: string, id: string): Promise<JobInfo> {
    return this.call('POST', `/pipelines/${seg(pipeline)}/jobs/${seg(id)}/stop`);
  }

  async listDatums(pipeline: string, job: string): Promise<DatumInfo[]> {
    return this.call('GET', `/pipelines/${seg(pipeline)}/jobs/${seg(job)}/datums`);
  }

  /**
   * The datums a pipeline spec would have over its inputs' current heads (`list datum -f`);
   * nothing is created.
   * @example
   * ```ts
   * const datums = await client.previewDatums(await readFile('inner_join.json', 'utf8'), { file: 'inner_join.json' });
   * ```
   */
  async previewDatums(spec: string, opts: { file?: string } = {}): Promise<DatumInfo[]> {
    return this.call('POST', '/datums/preview', { json: { spec, ...(opts.file !== undefined ? { file: opts.file } : {}) } });
  }

  /** Log lines of user code and of the system, oldest first; with `follow`, new lines as they come. */
  async *getLogs(opts: { pipeline?: string; job?: string; datum?: string; follow?: boolean; signal?: AbortSignal }): AsyncGenerator<LogLine> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const res = await this.send('GET', '/logs', {
        query: { pipeline: opts.pipeline, job: opts.job, datum: opts.datum, follow: opts.follow === true ? 'true' : undefined },
        signal: ac.signal,
      });
      yield* ndjson<LogLine>(res, ac.signal);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      ac.abort();
    }
  }

  // ---- auth ----

  /**
   * Turns auth on; the answer holds the root token (`pach:root`), shown this once.
   * @example const { rootToken } = await new Client().activateAuth();
   */
  async activateAuth(): Promise<ActivateAuthResponse> {
    return this.call('POST', '/auth/activate');
  }

  /** Turns auth off (clusterAdmin only): user and robot tokens and roles are forgotten. */
  async deactivateAuth(): Promise<void> {
    await this.call('POST', '/auth/deactivate');
  }

  /** The principal this client's token stands for (AUTH_NOT_ACTIVATED when auth is off and there is none). */
  async whoAmI(): Promise<WhoAmIResponse> {
    return this.call('GET', '/auth/whoami');
  }

  /** This client's role on every repo it has one on (and whether auth is active). */
  async accessLevels(): Promise<AccessLevelsResponse> {
    return this.call('GET', '/auth/access');
  }

  /**
   * A token for `robot:<name>` (clusterAdmin only), optionally expiring after `ttlSeconds`.
   * @example const { token } = await admin.getRobotToken('ci', { ttlSeconds: 3600 });
   */
  async getRobotToken(robot: string, opts: { ttlSeconds?: number } = {}): Promise<RobotTokenResponse> {
    return this.call('POST', '/auth/robot-tokens', { json: { robot, ...opts } });
  }

  /** Revokes one token, or every token of a principal. */
  async revokeAuthToken(target: { token: string } | { principal: string }): Promise<RevokeResponse> {
    return this.call('POST', '/auth/revoke', { json: target });
  }

  /** Gives a principal a role on a repo (`none` removes it); returns the repo's bindings. */
  async setRepoRole(repo: string, principal: string, role: RepoRole | 'none'): Promise<RoleBinding[]> {
    return this.call('PUT', `/auth/repos/${seg(repo)}/roles`, { json: { principal, role } });
  }

  async getRepoRoles(repo: string): Promise<RoleBinding[]> {
    return this.call('GET', `/auth/repos/${seg(repo)}/roles`);
  }

  /** Gives a principal a cluster role (`none` removes it); returns the cluster's bindings. */
  async setClusterRole(principal: string, role: ClusterRole | 'none'): Promise<RoleBinding[]> {
    return this.call('PUT', '/auth/cluster/roles', { json: { principal, role } });
  }

  async getClusterRoles(): Promise<RoleBinding[]> {
    return this.call('GET', '/auth/cluster/roles');
  }

  // ---- end auth ----

  // ---- worker protocol (used by `sluice worker`) ----

  /** Waits up to `waitMs` for a datum of the pipeline to process; null when there is none. */
  async claimDatum(pipeline: string, req: ClaimRequest, signal?: AbortSignal): Promise<DatumTask | null> {
    const res = await this.send('POST', `/pipelines/${seg(pipeline)}/worker/claim`, { json: req, ...(signal !== undefined ? { signal } : {}) });
    if (res.status === 204) {
      await res.dump();
      return null;
    }
    return (await res.json()) as DatumTask;
  }

  async reportDatum(pipeline: string, result: DatumResult): Promise<void> {
    await this.call('POST', `/pipelines/${seg(pipeline)}/worker/result`, { json: result });
  }

  /**
   * Reports a datum's result and, in the same round trip, claims the worker's next datum if one
   * is pending right now (the daemon does not wait for one: null means "claim as usual"). A
   * daemon that does not know `claim=1` answers 204, which reads as null too.
   */
  async reportDatumAndClaim(pipeline: string, result: DatumResult): Promise<DatumTask | null> {
    const res = await this.send('POST', `/pipelines/${seg(pipeline)}/worker/result`, { json: result, query: { claim: '1' } });
    if (res.status === 204) {
      await res.dump();
      return null;
    }
    return (await res.json()) as DatumTask;
  }

  /** Reports the user code's state: the pipeline shows `crashing` with the reason, or `running`. */
  async reportWorkerState(pipeline: string, report: WorkerStateReport): Promise<void> {
    await this.call('POST', `/pipelines/${seg(pipeline)}/worker/state`, { json: report });
  }

  async sendLogs(pipeline: string, batch: WorkerLogBatch): Promise<void> {
    await this.call('POST', `/pipelines/${seg(pipeline)}/worker/logs`, { json: batch });
  }
}


/** The lines of an NDJSON answer as they arrive; ends quietly when the signal aborts. */
async function* ndjson<T>(res: TransportResponse, signal: AbortSignal): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.chunks()) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line !== '') yield JSON.parse(line) as T;
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

/** An upload session. Several uploads may run in parallel; `commit` applies them atomically. */
export class Upload<B = string | Uint8Array> {
  constructor(private readonly client: ClientCore<B, TransportResponse>, readonly id: string) {}

  private path(suffix: string): string {
    return `/uploads/${encodeURIComponent(this.id)}${suffix}`;
  }

  async putFile(path: string, body: B, opts: { append?: boolean } = {}): Promise<{ path: string; sizeBytes: number }> {
    return this.client.uploadCall('PUT', this.path('/file'), { query: { path, append: opts.append === true ? 'true' : undefined }, body });
  }

  async putTar(path: string, body: B, opts: { append?: boolean } = {}): Promise<{ files: number; sizeBytes: number }> {
    return this.client.uploadCall('PUT', this.path('/tar'), { query: { path, append: opts.append === true ? 'true' : undefined }, body, contentType: 'application/x-tar' });
  }

  async deleteFile(path: string): Promise<void> {
    await this.client.uploadCall('POST', this.path('/delete'), { json: { path } });
  }

  async copyFile(src: { repo: string; ref: string; path: string }, dst: string, opts: { append?: boolean } = {}): Promise<{ files: number }> {
    return this.client.uploadCall('POST', this.path('/copy'), { json: { src, dst, ...opts } });
  }

  /**
   * Applies everything staged: a new finished commit on a branch, or additions to an open commit.
   * With `marker`, another upload lands on the marker branch in the same transaction. A spout
   * passes `spoutStats` (messages in the batch, their publish times) for the spout metrics.
   */
  async commit(
    repo: string,
    ref: string,
    opts: { description?: string; provenance?: CommitRef[]; marker?: { branch: string; upload: Upload<B> }; spoutStats?: SpoutCommitStats } = {},
  ): Promise<CommitUploadResponse> {
    const { marker, ...rest } = opts;
    return this.client.uploadCall('POST', this.path('/commit'), {
      json: { repo, ref, ...rest, ...(marker !== undefined ? { marker: { branch: marker.branch, uploadId: marker.upload.id } } : {}) },
    });
  }

  async abort(): Promise<void> {
    await this.client.uploadCall('DELETE', this.path(''), {});
  }
}
