/**
 * AuthService: activation, tokens, role bindings, upload ownership and pipeline credentials,
 * kept in the metadata store (`auth_*` tables), and the request-level entry point
 * `authorizeRequest()` that the server's one hook calls for every route.
 *
 * Promises:
 * - Off by default. `activate()` turns auth on and returns the root token (`pach:root`,
 *   clusterAdmin) once; `deactivate()` turns it off and forgets every user and robot token and
 *   binding. Pipeline tokens and bindings survive both: a pipeline is confined either way.
 * - Tokens are 32 random bytes in hex, stored only as SHA-256 hashes, with an optional expiry.
 *   With auth active: no token -> AUTH_TOKEN_MISSING, unknown or revoked -> AUTH_TOKEN_INVALID,
 *   expired -> AUTH_TOKEN_EXPIRED. With auth off a request without a token is anonymous (open),
 *   and only pipeline tokens are looked at: a live one confines the caller to its pipeline's
 *   repos, a revoked one is refused.
 * - A pipeline `p` is principal `pipeline:p`: repoWriter on repo `p` (every branch, `marker`
 *   included), repoReader on its inputs and, through `p`, on `p.spec`. Create and update issue a
 *   new token and revoke the previous one; delete revokes it. The plaintext of a pipeline's
 *   current token lives only in this process's memory (for the executor to hand to workers); a
 *   restarted daemon issues a fresh one on first use and revokes the old.
 * - Roles on a system repo (`p.spec`, `p.meta`) are those on `p`, capped at repoReader: only the
 *   daemon itself writes them.
 *
 * The `active` flag is cached in memory: one daemon per metadata store (a PostgreSQL store served
 * by several daemons would need it read per request).
 */
import type { Kysely } from 'kysely';
import type {
  AccessLevelsResponse, ActivateAuthResponse, ClusterRole, RepoRole, RevokeRequest, RevokeResponse, RobotTokenResponse, RoleBinding, WhoAmIResponse,
} from '../api/auth-types.js';
import { SluiceError } from '../errors/index.js';
import type { Database } from '../storage/metadata/index.js';
import { authorize, type AuthFacts, type Caller, type PipelineRepos, type RequestView } from './authorize.js';
import {
  ALL_CLUSTER_USERS, ROOT_PRINCIPAL, isClusterRole, isRepoRole, maxRepoRole, parsePrincipal, pipelineOf, pipelinePrincipal, robotPrincipal,
} from './principals.js';
import { isPublic, ruleFor, valuesAt, type Effect } from './route-table.js';
import { bearerToken, hashToken, newToken } from './tokens.js';

/** What the service asks the rest of the daemon (pfs and pps), wired by the server. */
export interface ResourceLookup {
  repoExists(repo: string): Promise<boolean>;
  commitSetRepos(id: string): Promise<string[]>;
  jobPipelines(id: string): Promise<string[]>;
  pipelineSpecRepos(spec: string, file: string | undefined): Promise<PipelineRepos[]>;
}

export interface AuthServiceOptions {
  now?: () => number;
  lookup?: ResourceLookup;
  /** `GET /metrics`: open (`none`) or, while auth is active, for user and robot tokens (`token`, the default). */
  metricsAuth?: 'none' | 'token';
}

/** What a request is allowed as, and what to record once it has succeeded. */
export interface RequestDecision {
  caller: Caller;
  /** Run after a 2xx answer, with the answer's body. */
  after?: (payload: unknown) => Promise<void>;
}

const ANONYMOUS: Caller = { kind: 'anonymous' };
const CLUSTER = 'cluster';
/** Upload ownership rows outlive their (24 h) uploads by a margin, then are dropped. */
const UPLOAD_OWNER_TTL_MS = 25 * 60 * 60 * 1000;

function repoResource(repo: string): string {
  return `repo:${repo}`;
}

/** `p` for a system repo `p.spec` / `p.meta`, else undefined. */
function systemRepoBase(repo: string): string | undefined {
  const dot = repo.indexOf('.');
  return dot > 0 ? repo.slice(0, dot) : undefined;
}

function notActivated(): SluiceError {
  return new SluiceError('AUTH_NOT_ACTIVATED', 'the auth service is not activated; run `pachctl auth activate` first');
}

export class AuthService implements AuthFacts {
  private readonly now: () => number;
  private lookup: ResourceLookup | undefined;
  private active: boolean | undefined;
  /** Current token of each pipeline (plaintext, this process only). */
  private readonly pipelineTokens = new Map<string, Promise<string>>();
  private lastUploadPrune = 0;
  readonly metricsAuth: 'none' | 'token';

  constructor(private readonly db: Kysely<Database>, opts: AuthServiceOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.lookup = opts.lookup;
    this.metricsAuth = opts.metricsAuth ?? 'token';
  }

  setLookup(lookup: ResourceLookup): void {
    this.lookup = lookup;
  }

  private requireLookup(): ResourceLookup {
    if (this.lookup === undefined) throw new SluiceError('INTERNAL', 'the auth service has no resource lookup wired');
    return this.lookup;
  }

  // ---- activation ----

  async isActive(): Promise<boolean> {
    if (this.active === undefined) {
      const row = await this.db.selectFrom('auth_state').select('active').where('id', '=', 1).executeTakeFirst();
      this.active = row?.active === 1;
    }
    return this.active;
  }

  /**
   * Turns auth on and returns the root token, once. `rootToken` supplies it (Pachyderm's
   * `ActivateRequest.root_token`, as its clients and `pachctl auth activate --supply-root-token`
   * send it); otherwise a random one is made.
   * @example const { rootToken } = await auth.activate();
   */
  async activate(opts: { rootToken?: string } = {}): Promise<ActivateAuthResponse> {
    const supplied = opts.rootToken;
    if (supplied !== undefined && (supplied === '' || supplied.length > 512 || /[\s\0]/.test(supplied))) {
      throw new SluiceError('INVALID_ARGUMENT', 'a supplied root token must be 1 to 512 characters with no whitespace');
    }
    const token = supplied ?? newToken();
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('auth_state').set({ active: 1, activated_at: now }).where('id', '=', 1).where('active', '=', 0).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new SluiceError('AUTH_ALREADY_ACTIVATED', 'the auth service is already activated');
      await trx.insertInto('auth_tokens').values({ hash: hashToken(token), principal: ROOT_PRINCIPAL, created_at: now, expires_at: null, revoked_at: null }).execute();
      await trx.insertInto('auth_bindings').values({ resource: CLUSTER, principal: ROOT_PRINCIPAL, role: 'clusterAdmin' })
        .onConflict((oc) => oc.columns(['resource', 'principal']).doUpdateSet({ role: 'clusterAdmin' })).execute();
    }).catch((err: unknown) => {
      this.active = undefined;
      throw err;
    });
    this.active = true;
    return { rootToken: token, principal: ROOT_PRINCIPAL };
  }

  /** Turns auth off: every user and robot token and binding is forgotten; pipelines keep theirs. */
  async deactivate(): Promise<void> {
    if (!(await this.isActive())) throw notActivated();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_state').set({ active: 0, activated_at: null }).where('id', '=', 1).execute();
      await trx.deleteFrom('auth_tokens').where('principal', 'not like', 'pipeline:%').execute();
      await trx.deleteFrom('auth_bindings').where('principal', 'not like', 'pipeline:%').execute();
    });
    this.active = false;
  }

  // ---- requests ----

  /** Who a request is, from its `authorization` header. */
  async authenticate(header: string | string[] | undefined): Promise<Caller> {
    const token = bearerToken(header);
    const active = await this.isActive();
    if (token === undefined) {
      if (!active) return ANONYMOUS;
      throw new SluiceError('AUTH_TOKEN_MISSING', 'this request needs an auth token: run `pachctl auth use-auth-token`, or set PACH_TOKEN');
    }
    const row = await this.db.selectFrom('auth_tokens').selectAll().where('hash', '=', hashToken(token)).executeTakeFirst();
    const pipeline = row === undefined ? undefined : pipelineOf(row.principal);
    // With auth off only pipeline tokens mean anything (they confine); others are ignored.
    if (!active && pipeline === undefined) return ANONYMOUS;
    if (row === undefined) throw new SluiceError('AUTH_TOKEN_INVALID', 'the auth token is not valid (unknown, or issued before auth was deactivated)');
    if (row.revoked_at !== null) {
      const why = pipeline !== undefined ? `it belonged to an older version of pipeline ${pipeline}, or to a deleted one` : 'it was revoked';
      throw new SluiceError('AUTH_TOKEN_INVALID', `the auth token is not valid: ${why}`, { details: { principal: row.principal } });
    }
    if (row.expires_at !== null && row.expires_at <= this.now()) {
      throw new SluiceError('AUTH_TOKEN_EXPIRED', `the auth token of ${row.principal} expired at ${new Date(row.expires_at).toISOString()}`, { details: { principal: row.principal, expiration: row.expires_at } });
    }
    return { kind: 'principal', principal: row.principal, expiration: row.expires_at };
  }

  /**
   * The one entry point of the server's hook: looks the route up in `ROUTE_RULES`,
   * authenticates (unless the route is public) and authorizes; throws an AUTH_* error or returns
   * the caller and what to record after a successful answer.
   */
  async authorizeRequest(authorization: string | string[] | undefined, req: RequestView): Promise<RequestDecision> {
    const rule = ruleFor(req.method, req.route);
    if (rule !== undefined && isPublic(rule, { metricsAuth: this.metricsAuth })) return { caller: ANONYMOUS };
    const caller = rule === undefined ? ANONYMOUS : await this.authenticate(authorization);
    await authorize(caller, rule, req, this);
    const after = rule?.effect === undefined ? undefined : await this.prepareEffect(rule.effect, caller, req);
    return after === undefined ? { caller } : { caller, after };
  }

  private async prepareEffect(effect: Effect, caller: Caller, req: RequestView): Promise<((payload: unknown) => Promise<void>) | undefined> {
    const principal = caller.kind === 'principal' ? caller.principal : undefined;
    switch (effect) {
      case 'ownUpload':
        return async (payload) => {
          const id = (payload as { id?: unknown } | undefined)?.id;
          if (typeof id === 'string') await this.recordUploadOwner(id, principal ?? '');
        };
      case 'ownCreatedRepo': {
        if (principal === undefined || !(await this.isActive())) return undefined;
        const [name] = valuesAt(req, 'body.name').values;
        if (name === undefined || (await this.repoExists(name))) return undefined;
        return async () => this.makeOwner(name, principal);
      }
      case 'ownCreatedPipelineRepos': {
        if (principal === undefined || !(await this.isActive())) return undefined;
        const [spec] = valuesAt(req, 'body.spec').values;
        const [file] = valuesAt(req, 'body.file').values;
        let repos: PipelineRepos[];
        try {
          repos = await this.pipelineSpecRepos(spec ?? '', file);
        } catch {
          return undefined; // the handler reports the spec's errors
        }
        const created: string[] = [];
        for (const p of repos) for (const r of [p.pipeline, ...p.crons]) if (!(await this.repoExists(r))) created.push(r);
        return async () => {
          for (const r of created) if (await this.repoExists(r)) await this.makeOwner(r, principal);
        };
      }
      case 'forgetRepo': {
        const [repo] = valuesAt(req, 'params.repo').values;
        return async () => {
          if (repo !== undefined) await this.db.deleteFrom('auth_bindings').where('resource', '=', repoResource(repo)).execute();
        };
      }
      case 'forgetAllRepos':
        return async () => {
          await this.db.deleteFrom('auth_bindings').where('resource', 'like', 'repo:%').execute();
        };
      default:
        return undefined;
    }
  }

  /** The creator of a new repo owns it; bindings left by an older repo of that name go. */
  private async makeOwner(repo: string, principal: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_bindings').where('resource', '=', repoResource(repo)).where('principal', 'not like', 'pipeline:%').execute();
      await trx.insertInto('auth_bindings').values({ resource: repoResource(repo), principal, role: 'repoOwner' }).execute();
    });
  }

  // ---- AuthFacts ----

  async isClusterAdmin(principal: string): Promise<boolean> {
    if (pipelineOf(principal) !== undefined) return false;
    const row = await this.db.selectFrom('auth_bindings').select('role')
      .where('resource', '=', CLUSTER).where('principal', 'in', [principal, ALL_CLUSTER_USERS]).where('role', '=', 'clusterAdmin').executeTakeFirst();
    return row !== undefined;
  }

  async repoRole(principal: string, repo: string): Promise<RepoRole | undefined> {
    const base = systemRepoBase(repo);
    const principals = pipelineOf(principal) !== undefined ? [principal] : [principal, ALL_CLUSTER_USERS];
    const rows = await this.db.selectFrom('auth_bindings').select('role')
      .where('resource', '=', repoResource(base ?? repo)).where('principal', 'in', principals).execute();
    let role: RepoRole | undefined;
    for (const r of rows) if (isRepoRole(r.role)) role = maxRepoRole(role, r.role);
    if (base !== undefined && role !== undefined) role = 'repoReader';
    return role;
  }

  async repoExists(repo: string): Promise<boolean> {
    return this.requireLookup().repoExists(repo);
  }

  async uploadOwner(id: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('auth_uploads').select('principal').where('upload_id', '=', id).executeTakeFirst();
    return row?.principal;
  }

  async commitSetRepos(id: string): Promise<string[]> {
    return this.requireLookup().commitSetRepos(id);
  }

  async jobPipelines(id: string): Promise<string[]> {
    return this.requireLookup().jobPipelines(id);
  }

  async pipelineSpecRepos(spec: string, file: string | undefined): Promise<PipelineRepos[]> {
    return this.requireLookup().pipelineSpecRepos(spec, file);
  }

  async tokenPrincipal(token: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('auth_tokens').select('principal').where('hash', '=', hashToken(token)).executeTakeFirst();
    return row?.principal;
  }

  // ---- uploads ----

  async recordUploadOwner(uploadId: string, principal: string): Promise<void> {
    const now = this.now();
    await this.db.insertInto('auth_uploads').values({ upload_id: uploadId, principal, created_at: now })
      .onConflict((oc) => oc.column('upload_id').doNothing()).execute();
    if (now - this.lastUploadPrune > 60 * 60 * 1000) {
      this.lastUploadPrune = now;
      await this.db.deleteFrom('auth_uploads').where('created_at', '<', now - UPLOAD_OWNER_TTL_MS).execute();
    }
  }

  // ---- the auth API ----

  async whoAmI(caller: Caller): Promise<WhoAmIResponse> {
    if (caller.kind === 'anonymous') throw notActivated();
    return { principal: caller.principal, expiration: caller.expiration, clusterRoles: (await this.isClusterAdmin(caller.principal)) ? ['clusterAdmin'] : [] };
  }

  /** The caller's role on every repo it has one on. */
  async accessLevels(caller: Caller): Promise<AccessLevelsResponse> {
    const active = await this.isActive();
    if (caller.kind === 'anonymous') return { active, clusterAdmin: false, repos: {} };
    const principals = pipelineOf(caller.principal) !== undefined ? [caller.principal] : [caller.principal, ALL_CLUSTER_USERS];
    const rows = await this.db.selectFrom('auth_bindings').select(['resource', 'role']).where('resource', 'like', 'repo:%').where('principal', 'in', principals).execute();
    const repos: Record<string, RepoRole> = {};
    for (const r of rows) {
      const repo = r.resource.slice('repo:'.length);
      if (isRepoRole(r.role)) {
        const best = maxRepoRole(repos[repo], r.role);
        if (best !== undefined) repos[repo] = best;
      }
    }
    return { active, clusterAdmin: await this.isClusterAdmin(caller.principal), repos };
  }

  /**
   * A token for `robot:<name>` (made up on the spot: robots need no registration).
   * @example const { token } = await auth.robotToken('ci', 3600);
   */
  async robotToken(robot: string, ttlSeconds?: number): Promise<RobotTokenResponse> {
    if (!(await this.isActive())) throw notActivated();
    const principal = robotPrincipal(robot);
    if (ttlSeconds !== undefined && (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)) {
      throw new SluiceError('INVALID_ARGUMENT', `ttl must be a positive number of seconds, got ${String(ttlSeconds)}`);
    }
    const token = newToken();
    const now = this.now();
    const expiration = ttlSeconds === undefined ? null : now + Math.ceil(ttlSeconds * 1000);
    await this.db.insertInto('auth_tokens').values({ hash: hashToken(token), principal, created_at: now, expires_at: expiration, revoked_at: null }).execute();
    return { principal, token, expiration };
  }

  /** Revokes one token, or every token of a principal. Pipeline tokens follow their pipeline. */
  async revoke(req: RevokeRequest): Promise<RevokeResponse> {
    if (!(await this.isActive())) throw notActivated();
    if ((req.token === undefined) === (req.principal === undefined)) throw new SluiceError('INVALID_REQUEST_BODY', 'name either a token or a principal to revoke');
    const now = this.now();
    if (req.token !== undefined) {
      const hash = hashToken(req.token);
      const row = await this.db.selectFrom('auth_tokens').select(['principal', 'revoked_at']).where('hash', '=', hash).executeTakeFirst();
      if (row === undefined || row.revoked_at !== null) return { revoked: 0 };
      refusePipeline(row.principal);
      await this.db.updateTable('auth_tokens').set({ revoked_at: now }).where('hash', '=', hash).execute();
      return { revoked: 1 };
    }
    const principal = parsePrincipal(req.principal ?? '');
    refusePipeline(principal);
    const res = await this.db.updateTable('auth_tokens').set({ revoked_at: now }).where('principal', '=', principal).where('revoked_at', 'is', null).executeTakeFirst();
    return { revoked: Number(res.numUpdatedRows) };
  }

  /** Gives `principal` a role on a repo ('none' removes it). Pipelines' roles follow their specs. */
  async setRepoRole(repo: string, principalText: string, role: string): Promise<RoleBinding[]> {
    if (!(await this.isActive())) throw notActivated();
    if (systemRepoBase(repo) !== undefined) throw new SluiceError('INVALID_ARGUMENT', `roles on system repo ${repo} are those on repo ${systemRepoBase(repo) ?? ''}; set them there`);
    const principal = parsePrincipal(principalText);
    refusePipeline(principal);
    if (role !== 'none' && !isRepoRole(role)) throw new SluiceError('INVALID_ARGUMENT', `invalid repo role ${JSON.stringify(role)}: use repoReader, repoWriter, repoOwner or none`);
    if (!(await this.repoExists(repo))) throw new SluiceError('PFS_REPO_NOT_FOUND', `repo ${repo} not found`, { details: { repo } });
    await this.setBinding(repoResource(repo), principal, role);
    return this.repoBindings(repo);
  }

  async repoBindings(repo: string): Promise<RoleBinding[]> {
    const rows = await this.db.selectFrom('auth_bindings').select(['principal', 'role']).where('resource', '=', repoResource(repo)).orderBy('principal').execute();
    return rows.filter((r) => isRepoRole(r.role)).map((r) => ({ principal: r.principal, role: r.role as RepoRole }));
  }

  async setClusterRole(principalText: string, role: string): Promise<RoleBinding[]> {
    if (!(await this.isActive())) throw notActivated();
    const principal = parsePrincipal(principalText);
    refusePipeline(principal);
    if (role !== 'none' && !isClusterRole(role)) throw new SluiceError('INVALID_ARGUMENT', `invalid cluster role ${JSON.stringify(role)}: use clusterAdmin or none`);
    if (principal === ROOT_PRINCIPAL && role === 'none') throw new SluiceError('INVALID_ARGUMENT', `${ROOT_PRINCIPAL} is always clusterAdmin`);
    await this.setBinding(CLUSTER, principal, role);
    return this.clusterBindings();
  }

  async clusterBindings(): Promise<RoleBinding[]> {
    const rows = await this.db.selectFrom('auth_bindings').select(['principal', 'role']).where('resource', '=', CLUSTER).orderBy('principal').execute();
    return rows.filter((r) => isClusterRole(r.role)).map((r) => ({ principal: r.principal, role: r.role as ClusterRole }));
  }

  private async setBinding(resource: string, principal: string, role: string): Promise<void> {
    if (role === 'none') {
      await this.db.deleteFrom('auth_bindings').where('resource', '=', resource).where('principal', '=', principal).execute();
      return;
    }
    await this.db.insertInto('auth_bindings').values({ resource, principal, role })
      .onConflict((oc) => oc.columns(['resource', 'principal']).doUpdateSet({ role })).execute();
  }

  // ---- pipelines (PipelineCredentials) ----

  /**
   * A pipeline was created or updated: its bindings follow the new spec (writer on its output
   * repo, reader on `inputs`), a new token is issued and the previous one revoked.
   */
  async pipelineChanged(name: string, repos: { inputs: string[] }): Promise<void> {
    await this.syncPipelineBindings(name, repos.inputs);
    await this.rotatePipelineToken(name);
  }

  /** A pipeline was deleted: its token is revoked, its bindings (and its repo's, unless kept) go. */
  async pipelineDeleted(name: string, opts: { keepRepo: boolean }): Promise<void> {
    const principal = pipelinePrincipal(name);
    this.pipelineTokens.delete(name);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('auth_tokens').set({ revoked_at: this.now() }).where('principal', '=', principal).where('revoked_at', 'is', null).execute();
      await trx.deleteFrom('auth_bindings').where('principal', '=', principal).execute();
      if (!opts.keepRepo) await trx.deleteFrom('auth_bindings').where('resource', '=', repoResource(name)).execute();
    });
  }

  /** Makes a pipeline's bindings exactly: writer on its output repo, reader on its inputs. */
  async syncPipelineBindings(name: string, inputs: string[]): Promise<void> {
    const principal = pipelinePrincipal(name);
    const readers = [...new Set(inputs)].filter((r) => r !== name);
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('auth_bindings').where('principal', '=', principal).execute();
      await trx.insertInto('auth_bindings').values([
        { resource: repoResource(name), principal, role: 'repoWriter' },
        ...readers.map((r) => ({ resource: repoResource(r), principal, role: 'repoReader' })),
      ]).execute();
    });
  }

  /** The pipeline's current token, for its workers' environment (issued on first use). */
  async pipelineToken(name: string): Promise<string> {
    return this.pipelineTokens.get(name) ?? this.rotatePipelineToken(name);
  }

  private rotatePipelineToken(name: string): Promise<string> {
    const principal = pipelinePrincipal(name);
    const issue = (async () => {
      const token = newToken();
      const now = this.now();
      await this.db.transaction().execute(async (trx) => {
        await trx.updateTable('auth_tokens').set({ revoked_at: now }).where('principal', '=', principal).where('revoked_at', 'is', null).execute();
        await trx.insertInto('auth_tokens').values({ hash: hashToken(token), principal, created_at: now, expires_at: null, revoked_at: null }).execute();
      });
      return token;
    })();
    this.pipelineTokens.set(name, issue);
    issue.catch(() => {
      if (this.pipelineTokens.get(name) === issue) this.pipelineTokens.delete(name);
    });
    return issue;
  }
}

function refusePipeline(principal: string): void {
  const p = pipelineOf(principal);
  if (p !== undefined) {
    throw new SluiceError('INVALID_ARGUMENT', `${principal}: a pipeline's roles and token follow the pipeline (its spec, update pipeline, delete pipeline) and cannot be changed by hand`, { details: { principal } });
  }
}
