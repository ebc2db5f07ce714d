/**
 * authorize(): the one decision of who may call what. It takes the caller (from the token),
 * the route's rule from `ROUTE_RULES` and the request, asks `AuthFacts` what it needs (roles,
 * owners, which repos a commit set spans) and either returns or throws:
 * AUTH_PERMISSION_DENIED naming the principal, the permission and the resource. A route without
 * a rule is refused, whoever calls.
 *
 * Who passes what:
 * - the anonymous caller (auth is off and the request carries no pipeline token) passes every
 *   rule: with auth off the daemon is open, as Pachyderm's is;
 * - a clusterAdmin passes every rule;
 * - everyone else, pipelines included whether or not auth is active, passes a rule only when
 *   every check of it holds. A pipeline holds writer on its output repo and reader on its
 *   inputs (bindings kept by `AuthService`), so it can do nothing else.
 */
import { SluiceError } from '../errors/index.js';
import { parsePrincipal, pipelineOf, pipelinePrincipal, repoRoleIncludes, type RepoRole } from './principals.js';
import { valuesAt, type Check, type RouteRule, type Source } from './route-table.js';

export type Caller =
  /** Auth is off and the request carries no pipeline token: open access. */
  | { kind: 'anonymous' }
  | { kind: 'principal'; principal: string; expiration: number | null };

/** The repos a pipeline spec touches: its output repo is named after the pipeline. */
export interface PipelineRepos {
  pipeline: string;
  /** pfs input repos. */
  inputs: string[];
  /** cron input repos (made by the daemon when missing). */
  crons: string[];
}

/** What `authorize()` may ask. `AuthService` answers from the metadata store. */
export interface AuthFacts {
  isClusterAdmin(principal: string): Promise<boolean>;
  /** The role a principal holds on a repo (bindings of `allClusterUsers` included). */
  repoRole(principal: string, repo: string): Promise<RepoRole | undefined>;
  repoExists(repo: string): Promise<boolean>;
  /** The principal that created an upload ('' for an anonymous one), undefined when unknown. */
  uploadOwner(id: string): Promise<string | undefined>;
  commitSetRepos(id: string): Promise<string[]>;
  /** The pipelines that have a job of this id. */
  jobPipelines(id: string): Promise<string[]>;
  /** Parses a spec text as the create route will (and throws the same errors). */
  pipelineSpecRepos(spec: string, file: string | undefined): Promise<PipelineRepos[]>;
  /** The principal a (live or not) token belongs to. */
  tokenPrincipal(token: string): Promise<string | undefined>;
}

export interface RequestView {
  method: string;
  /** The route (`/api/v1/repos/:repo`), not the concrete path. */
  route: string;
  params?: unknown;
  body?: unknown;
  query?: unknown;
}

export function permissionDenied(principal: string, permission: string, resource: string, why?: string): SluiceError {
  return new SluiceError(
    'AUTH_PERMISSION_DENIED',
    `${principal} is not authorized to perform this operation: needs ${permission} on ${resource}${why === undefined ? '' : ` (${why})`}`,
    { details: { principal, permission, resource } },
  );
}

export async function authorize(caller: Caller, rule: RouteRule | undefined, req: RequestView, facts: AuthFacts): Promise<void> {
  if (rule === undefined) {
    const who = caller.kind === 'anonymous' ? 'the caller' : caller.principal;
    throw new SluiceError('AUTH_PERMISSION_DENIED', `${req.method} ${req.route} has no authorization rule, so nobody may call it (add it to src/auth/route-table.ts); ${who} was refused`, {
      details: { principal: caller.kind === 'anonymous' ? null : caller.principal, permission: 'route rule', resource: `${req.method} ${req.route}` },
    });
  }
  if (rule.checks.some((c) => c.need === 'public')) return;
  if (caller.kind === 'anonymous') return;
  const principal = caller.principal;
  if (pipelineOf(principal) === undefined && (await facts.isClusterAdmin(principal))) return;
  for (const check of rule.checks) await runCheck(principal, check, req, facts);
}

function sourceValues(req: RequestView, source: Source): string[] {
  const { values, optional, malformed } = valuesAt(req, source);
  const name = source.replace(/\?$/, '');
  if (malformed) throw new SluiceError('INVALID_REQUEST_BODY', `${name} must be a non-empty string`, { details: { field: name } });
  if (values.length === 0 && !optional) {
    throw new SluiceError(name.startsWith('body.') ? 'INVALID_REQUEST_BODY' : 'INVALID_ARGUMENT', `${name} is required`, { details: { field: name } });
  }
  return values;
}

async function requireRepoRole(principal: string, need: RepoRole, repo: string, facts: AuthFacts): Promise<void> {
  const held = await facts.repoRole(principal, repo);
  if (!repoRoleIncludes(held, need)) throw permissionDenied(principal, need, `repo ${repo}`, held === undefined ? 'it has no role there' : `it has ${held}`);
}

async function runCheck(principal: string, check: Check, req: RequestView, facts: AuthFacts): Promise<void> {
  switch (check.need) {
    case 'public':
    case 'authenticated':
      return;
    case 'user':
    case 'metricsScraper':
      if (pipelineOf(principal) !== undefined) throw permissionDenied(principal, 'a user or robot principal', 'cluster', 'a pipeline may only write its output repo and read its inputs');
      return;
    case 'clusterAdmin':
      throw permissionDenied(principal, 'clusterAdmin', 'cluster');
    case 'uploadOwner':
      for (const id of sourceValues(req, check.upload)) {
        const owner = await facts.uploadOwner(id);
        if (owner !== principal) throw permissionDenied(principal, 'uploadOwner', `upload ${id}`, 'an upload belongs to the principal that created it');
      }
      return;
    case 'pipelineWorker':
      for (const name of sourceValues(req, check.pipeline)) {
        if (principal !== pipelinePrincipal(name)) throw permissionDenied(principal, `to be ${pipelinePrincipal(name)}`, `the worker protocol of pipeline ${name}`);
      }
      return;
    case 'pipelineSpec': {
      const [spec] = sourceValues(req, check.spec);
      const file = check.file === undefined ? undefined : sourceValues(req, check.file)[0];
      for (const p of await facts.pipelineSpecRepos(spec ?? '', file)) {
        for (const input of [...p.inputs, ...p.crons]) {
          if (await facts.repoExists(input)) await requireRepoRole(principal, 'repoReader', input, facts);
        }
        if (await facts.repoExists(p.pipeline)) await requireRepoRole(principal, 'repoOwner', p.pipeline, facts);
      }
      return;
    }
    case 'self': {
      const tokens = check.token === undefined ? [] : sourceValues(req, check.token);
      const principals = check.principal === undefined ? [] : sourceValues(req, check.principal);
      for (const t of tokens) {
        if ((await facts.tokenPrincipal(t)) !== principal) throw permissionDenied(principal, 'clusterAdmin', 'a token of another principal');
      }
      for (const p of principals) {
        if (parsePrincipal(p) !== principal) throw permissionDenied(principal, 'clusterAdmin', `the tokens of ${p}`);
      }
      return;
    }
    default:
      break;
  }
  // Repo-role checks: the repo is named directly, through a commit set, or through a job.
  const need = check.need;
  if ('repo' in check) {
    for (const repo of sourceValues(req, check.repo)) {
      if (check.ifExists === true && !(await facts.repoExists(repo))) continue;
      await requireRepoRole(principal, need, repo, facts);
    }
  } else if ('commitSet' in check) {
    for (const id of sourceValues(req, check.commitSet)) {
      for (const repo of await facts.commitSetRepos(id)) await requireRepoRole(principal, need, repo, facts);
    }
  } else {
    for (const id of sourceValues(req, check.jobOf)) {
      for (const pipeline of await facts.jobPipelines(id)) await requireRepoRole(principal, need, pipeline, facts);
    }
  }
}
