/**
 * THE route table: for every route of the HTTP API, what a caller needs and where the request
 * names the resource. `authorize()` reads nothing else, and a route missing here is refused
 * (fail closed); `route-table.test.ts` walks the routes of the real app and fails on any route
 * without a rule, so a new route cannot ship unguarded.
 *
 * A rule is a list of checks, all of which must pass:
 * - `public`: no token needed (none is even looked at); only for version, health and the web
 *   console's static files (which hold no data: the console calls the API with the user's token).
 * - `authenticated`: any caller with a valid token, pipelines included.
 * - `user`: any caller but a pipeline (pipelines may not create repos or pipelines, nor list
 *   everything: a pipeline's token serves its worker and user code, nothing more).
 * - `clusterAdmin`.
 * - a repo role (`repoReader` < `repoWriter` < `repoOwner`) on the repo(s) a source names:
 *   `repo` (with `ifExists`: only when that repo exists), `commitSet` (every repo holding a
 *   commit of that id) or `jobOf` (the output repo of every pipeline with a job of that id).
 *   A pipeline is guarded by its output repo, which bears its name (`params.name`).
 * - `uploadOwner`: the upload session was created by the caller.
 * - `pipelineWorker`: the caller is `pipeline:<name>` itself (or clusterAdmin).
 * - `pipelineSpec`: for each pipeline in a spec text, read on its inputs (those that exist) and
 *   owner on its output repo when that exists (an update, or a leftover repo).
 * - `self`: the token or principal named in the body is the caller's own (or clusterAdmin).
 * - `metricsScraper`: the operator's choice (`sluice daemon --metrics-auth`): with `none` the
 *   route is public; with `token` (the default) it is `user` (a user or robot token while auth is
 *   active; open while auth is off, as every route is).
 *
 * A source is `params.x`, `body.x.y`, `query.x` or `body.list[].x`; a trailing `?` makes it
 * optional (absent: nothing to check). A required source that is absent is a bad request.
 *
 * Effects run after a 2xx answer: the creator of a repo owns it (when auth is active), an
 * upload belongs to its creator, bindings of a deleted repo are dropped.
 */
import { API_PREFIX } from '../api/types.js';
import type { RepoRole } from './principals.js';

export type Source = `${'params' | 'body' | 'query'}.${string}`;

export type Check =
  | { need: 'public' }
  | { need: 'authenticated' }
  | { need: 'user' }
  | { need: 'clusterAdmin' }
  | { need: RepoRole; repo: Source; ifExists?: true }
  | { need: RepoRole; commitSet: Source }
  | { need: RepoRole; jobOf: Source }
  | { need: 'uploadOwner'; upload: Source }
  | { need: 'pipelineWorker'; pipeline: Source }
  | { need: 'pipelineSpec'; spec: Source; file?: Source }
  | { need: 'self'; token?: Source; principal?: Source }
  | { need: 'metricsScraper' };

export type Effect =
  /** The caller owns the repo `body.name` if the request created it. */
  | 'ownCreatedRepo'
  /** The caller owns the upload the answer names. */
  | 'ownUpload'
  /** The caller owns the output (and cron) repos the request created. */
  | 'ownCreatedPipelineRepos'
  /** Bindings on `params.repo` are dropped (the repo is gone). */
  | 'forgetRepo'
  /** Bindings on every repo are dropped (`delete all`). */
  | 'forgetAllRepos';

export interface RouteRule {
  checks: readonly Check[];
  effect?: Effect;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/** `METHOD /api/v1/path/:param` as Fastify names the route. */
export type RouteId = `${HttpMethod} ${string}`;

const P = API_PREFIX;
const PUBLIC: RouteRule = { checks: [{ need: 'public' }] };
const ANY: RouteRule = { checks: [{ need: 'authenticated' }] };
/** Listing everything (repos, pipelines with their specs, jobs) is for users, not pipelines. */
const USER: RouteRule = { checks: [{ need: 'user' }] };
const ADMIN: RouteRule = { checks: [{ need: 'clusterAdmin' }] };
const repo = (need: RepoRole, at: Source = 'params.repo'): RouteRule => ({ checks: [{ need, repo: at }] });
const upload = (...more: Check[]): RouteRule => ({ checks: [{ need: 'uploadOwner', upload: 'params.id' }, ...more] });
const worker = (...more: Check[]): RouteRule => ({ checks: [{ need: 'pipelineWorker', pipeline: 'params.name' }, ...more] });
const provenanceRead: Check = { need: 'repoReader', repo: 'body.provenance[].repo?' };

export const ROUTE_RULES: Readonly<Record<RouteId, RouteRule>> = {
  // admin
  [`GET ${P}/version`]: PUBLIC,
  [`GET ${P}/health`]: PUBLIC,
  [`POST ${P}/fsck`]: ADMIN,
  [`POST ${P}/gc`]: ADMIN,

  // the web console's page and static files (src/server/routes/console.ts)
  ['GET /']: PUBLIC,
  ['GET /console/:file']: PUBLIC,

  // repos and branches
  [`POST ${P}/repos`]: { checks: [{ need: 'user' }, { need: 'repoOwner', repo: 'body.name', ifExists: true }], effect: 'ownCreatedRepo' },
  [`GET ${P}/repos`]: USER,
  [`GET ${P}/repos/:repo`]: repo('repoReader'),
  [`DELETE ${P}/repos/:repo`]: { checks: [{ need: 'repoOwner', repo: 'params.repo' }], effect: 'forgetRepo' },
  [`POST ${P}/repos/:repo/branches`]: { checks: [{ need: 'repoWriter', repo: 'params.repo' }, { need: 'repoReader', repo: 'body.provenance[].repo?' }] },
  [`GET ${P}/repos/:repo/branches`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/branches/:branch`]: repo('repoReader'),
  [`DELETE ${P}/repos/:repo/branches/:branch`]: repo('repoWriter'),

  // commits
  [`POST ${P}/repos/:repo/commits`]: { checks: [{ need: 'repoWriter', repo: 'params.repo' }, provenanceRead] },
  [`POST ${P}/repos/:repo/commits/:ref/finish`]: repo('repoWriter'),
  [`GET ${P}/repos/:repo/commits`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref/wait`]: repo('repoReader'),
  [`DELETE ${P}/repos/:repo/commits/:ref`]: repo('repoWriter'),
  [`POST ${P}/repos/:repo/commits/:ref/squash`]: repo('repoWriter'),
  [`GET ${P}/commit-sets/:id`]: { checks: [{ need: 'repoReader', commitSet: 'params.id' }] },
  [`GET ${P}/repos/:repo/subscribe`]: repo('repoReader'),

  // files: upload sessions belong to their creator; committing one needs write on the target
  // repo (the marker branch is in the same repo, its upload must be the caller's too)
  [`POST ${P}/uploads`]: { checks: [{ need: 'authenticated' }], effect: 'ownUpload' },
  [`PUT ${P}/uploads/:id/file`]: upload(),
  [`PUT ${P}/uploads/:id/tar`]: upload(),
  [`POST ${P}/uploads/:id/delete`]: upload(),
  [`POST ${P}/uploads/:id/copy`]: upload({ need: 'repoReader', repo: 'body.src.repo' }),
  [`POST ${P}/uploads/:id/commit`]: upload(
    { need: 'uploadOwner', upload: 'body.marker.uploadId?' },
    { need: 'repoWriter', repo: 'body.repo' },
    provenanceRead,
  ),
  [`DELETE ${P}/uploads/:id`]: upload(),
  [`PUT ${P}/repos/:repo/commits/:ref/file`]: repo('repoWriter'),
  [`GET ${P}/repos/:repo/commits/:ref/file`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref/files`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref/stat`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref/glob`]: repo('repoReader'),
  [`GET ${P}/repos/:repo/commits/:ref/diff`]: repo('repoReader'),

  // pipelines, jobs, logs: a pipeline is guarded by its output repo (same name)
  [`POST ${P}/pipelines`]: { checks: [{ need: 'user' }, { need: 'pipelineSpec', spec: 'body.spec', file: 'body.file?' }], effect: 'ownCreatedPipelineRepos' },
  [`GET ${P}/pipelines`]: USER,
  [`DELETE ${P}/pipelines`]: ADMIN,
  [`GET ${P}/pipelines/:name`]: repo('repoReader', 'params.name'),
  [`GET ${P}/pipelines/:name/versions`]: repo('repoReader', 'params.name'),
  [`DELETE ${P}/pipelines/:name`]: repo('repoOwner', 'params.name'),
  [`POST ${P}/pipelines/:name/stop`]: repo('repoOwner', 'params.name'),
  [`POST ${P}/pipelines/:name/start`]: repo('repoOwner', 'params.name'),
  [`GET ${P}/jobs`]: { checks: [{ need: 'user' }, { need: 'repoReader', repo: 'query.pipeline?' }] },
  [`GET ${P}/pipelines/:name/jobs/:id`]: repo('repoReader', 'params.name'),
  [`GET ${P}/pipelines/:name/jobs/:id/wait`]: repo('repoReader', 'params.name'),
  [`POST ${P}/pipelines/:name/jobs/:id/stop`]: repo('repoWriter', 'params.name'),
  [`GET ${P}/pipelines/:name/jobs/:id/datums`]: repo('repoReader', 'params.name'),
  // a dry run reads the spec's inputs; held to create's rule, so it shows nothing create would not
  [`POST ${P}/datums/preview`]: { checks: [{ need: 'user' }, { need: 'pipelineSpec', spec: 'body.spec', file: 'body.file?' }] },
  [`GET ${P}/logs`]: { checks: [{ need: 'authenticated' }, { need: 'repoReader', repo: 'query.pipeline?' }, { need: 'repoReader', jobOf: 'query.job?' }] },
  [`POST ${P}/delete-all`]: { checks: [{ need: 'clusterAdmin' }], effect: 'forgetAllRepos' },

  // the worker protocol: only the pipeline's own token
  [`POST ${P}/pipelines/:name/worker/claim`]: worker(),
  [`POST ${P}/pipelines/:name/worker/result`]: worker({ need: 'uploadOwner', upload: 'body.uploadId?' }),
  [`POST ${P}/pipelines/:name/worker/state`]: worker(),
  [`POST ${P}/pipelines/:name/worker/logs`]: worker(),

  // Prometheus metrics, outside the API prefix (docs/metrics.md)
  'GET /metrics': { checks: [{ need: 'metricsScraper' }] },

  // auth itself
  // activating needs no token while auth is off (the anonymous caller), but not a pipeline's
  [`POST ${P}/auth/activate`]: { checks: [{ need: 'user' }] },
  [`POST ${P}/auth/deactivate`]: ADMIN,
  [`GET ${P}/auth/whoami`]: ANY,
  [`GET ${P}/auth/access`]: ANY,
  [`POST ${P}/auth/robot-tokens`]: ADMIN,
  [`POST ${P}/auth/revoke`]: { checks: [{ need: 'self', token: 'body.token?', principal: 'body.principal?' }] },
  [`GET ${P}/auth/repos/:repo/roles`]: repo('repoReader'),
  [`PUT ${P}/auth/repos/:repo/roles`]: repo('repoOwner'),
  [`GET ${P}/auth/cluster/roles`]: ADMIN,
  [`PUT ${P}/auth/cluster/roles`]: ADMIN,
};

/** The rule of a route, or undefined (which `authorize()` refuses). HEAD is GET's rule. */
export function ruleFor(method: string, url: string): RouteRule | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const key = `${m} ${url}` as RouteId;
  return Object.prototype.hasOwnProperty.call(ROUTE_RULES, key) ? ROUTE_RULES[key] : undefined;
}

export function isPublic(rule: RouteRule, opts: { metricsAuth?: 'none' | 'token' } = {}): boolean {
  return rule.checks.some((c) => c.need === 'public' || (c.need === 'metricsScraper' && opts.metricsAuth === 'none'));
}

/** The values a source names in a request: none, one, or several (`list[].x`). */
export function valuesAt(req: { params?: unknown; body?: unknown; query?: unknown }, source: Source): { values: string[]; optional: boolean; malformed: boolean } {
  const optional = source.endsWith('?');
  const path = (optional ? source.slice(0, -1) : source).split('.');
  const root = path[0] === 'params' ? req.params : path[0] === 'body' ? req.body : req.query;
  let cur: unknown[] = [root];
  for (const seg of path.slice(1)) {
    const many = seg.endsWith('[]');
    const key = many ? seg.slice(0, -2) : seg;
    const next: unknown[] = [];
    for (const v of cur) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
      const child = (v as Record<string, unknown>)[key];
      if (many) {
        if (Array.isArray(child)) next.push(...(child as unknown[]));
      } else if (child !== undefined && child !== null) {
        next.push(child);
      }
    }
    cur = next;
  }
  const values = cur.filter((v): v is string => typeof v === 'string' && v !== '');
  return { values, optional, malformed: values.length !== cur.length };
}
