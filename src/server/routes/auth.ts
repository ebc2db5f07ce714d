/**
 * Auth in the HTTP server: the ONE hook that authorizes every route (`installAuth`), the auth
 * routes (`/auth/...`), and the lookups the auth service needs from pfs and pps.
 *
 * The hook runs as `preHandler` (after the JSON body is parsed, before any handler; streamed
 * bodies are not read yet). It hands the route id, params, body and query to
 * `AuthService.authorizeRequest`, which looks the route up in `src/auth/route-table.ts`: a route
 * without a rule is refused. After a 2xx answer the rule's effect runs (in `onSend`, so the
 * client never sees the answer before, say, it owns the repo it created).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { RevokeRequest, RobotTokenRequest, SetRoleRequest } from '../../api/auth-types.js';
import { AuthService, type Caller, type PipelineRepos, type RequestDecision, type ResourceLookup } from '../../auth/index.js';
import { SluiceError } from '../../errors/index.js';
import type { Pfs } from '../../pfs/index.js';
import { applyDefaults, parseSpecs, validateParsedSpec, visitInputs, type Input } from '../../pps/spec/index.js';
import { body, optString, reqString } from './util.js';

const decisions = new WeakMap<FastifyRequest, RequestDecision>();
const routeLists = new WeakMap<FastifyInstance, string[]>();

/** The caller of a request, as the hook authenticated it. */
export function callerOf(req: FastifyRequest): Caller {
  return decisions.get(req)?.caller ?? { kind: 'anonymous' };
}

/** Every route registered on the app since `installAuth` (`METHOD /url`), HEAD routes included. */
export function registeredRoutes(app: FastifyInstance): string[] {
  return [...(routeLists.get(app) ?? [])];
}

/** Installs the hook on the root instance; call before any route is registered. */
export function installAuth(app: FastifyInstance, auth: AuthService): void {
  const routes: string[] = [];
  routeLists.set(app, routes);
  app.addHook('onRoute', (opts) => {
    for (const m of Array.isArray(opts.method) ? opts.method : [opts.method]) routes.push(`${String(m).toUpperCase()} ${opts.url ?? ''}`);
  });
  app.addHook('preHandler', async (req) => {
    // No route matched: the not-found handler answers, there is nothing to guard.
    if (req.is404) return;
    const decision = await auth.authorizeRequest(req.headers.authorization, {
      method: req.method,
      route: req.routeOptions.url ?? req.url,
      params: req.params,
      body: req.body,
      query: req.query,
    });
    decisions.set(req, decision);
  });
  app.addHook('onSend', async (req, reply, payload) => {
    const after = decisions.get(req)?.after;
    if (after === undefined || reply.statusCode < 200 || reply.statusCode >= 300) return payload;
    let parsed: unknown;
    if (typeof payload === 'string') {
      try {
        parsed = JSON.parse(payload);
      } catch {
        parsed = undefined;
      }
    }
    await after(parsed);
    return payload;
  });
}

/** The pfs and pps facts the auth service asks for, read from the metadata store. */
export function resourceLookup(pfs: Pfs, now: () => number = Date.now): ResourceLookup {
  const db = pfs.ctx.db;
  return {
    async repoExists(repo) {
      return (await db.selectFrom('repos').select('name').where('name', '=', repo).executeTakeFirst()) !== undefined;
    },
    async commitSetRepos(id) {
      return (await db.selectFrom('commits').select('repo').distinct().where('id', '=', id).execute()).map((r) => r.repo);
    },
    async jobPipelines(id) {
      return (await db.selectFrom('jobs').select('pipeline').distinct().where('id', '=', id).execute()).map((r) => r.pipeline);
    },
    async pipelineSpecRepos(spec, file) {
      const out: PipelineRepos[] = [];
      for (const p of parseSpecs(spec, file === undefined ? {} : { file })) {
        // The same steps as PipelineService.createPipelines, so errors are the same too.
        const withDefaults = { ...p, spec: applyDefaults(p.spec, { now: new Date(now()) }) };
        validateParsedSpec(withDefaults);
        out.push({ pipeline: withDefaults.spec.pipeline.name, ...inputRepos(withDefaults.spec.input) });
      }
      return out;
    },
  };
}

/** The pfs and cron repos of a pipeline's input. */
export function inputRepos(input: Input | undefined): { inputs: string[]; crons: string[] } {
  const inputs: string[] = [];
  const crons: string[] = [];
  if (input !== undefined) {
    visitInputs(input, (i) => {
      if (i.pfs !== undefined) inputs.push(i.pfs.repo);
      if (i.cron !== undefined) crons.push(i.cron.repo);
    });
  }
  return { inputs, crons };
}

export function authRoutes(auth: AuthService): FastifyPluginAsync {
  return async (app) => {
    app.post('/auth/activate', async () => auth.activate());
    app.post('/auth/deactivate', async () => {
      await auth.deactivate();
      return { active: false };
    });
    app.get('/auth/whoami', async (req) => auth.whoAmI(callerOf(req)));
    app.get('/auth/access', async (req) => auth.accessLevels(callerOf(req)));
    app.post('/auth/robot-tokens', async (req, reply) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: RobotTokenRequest = { robot: reqString(b, 'robot') };
      if (b.ttlSeconds !== undefined && b.ttlSeconds !== null) {
        if (typeof b.ttlSeconds !== 'number') throw new SluiceError('INVALID_REQUEST_BODY', 'field "ttlSeconds" must be a number');
        r.ttlSeconds = b.ttlSeconds;
      }
      return reply.status(201).send(await auth.robotToken(r.robot, r.ttlSeconds));
    });
    app.post('/auth/revoke', async (req) => {
      const b = body<Record<string, unknown>>(req.body);
      const r: RevokeRequest = {};
      const token = optString(b, 'token');
      if (token !== undefined) r.token = token;
      const principal = optString(b, 'principal');
      if (principal !== undefined) r.principal = principal;
      return auth.revoke(r);
    });
    app.get<{ Params: { repo: string } }>('/auth/repos/:repo/roles', async (req) => {
      if (!(await auth.repoExists(req.params.repo))) throw new SluiceError('PFS_REPO_NOT_FOUND', `repo ${req.params.repo} not found`, { details: { repo: req.params.repo } });
      return auth.repoBindings(req.params.repo);
    });
    app.put<{ Params: { repo: string } }>('/auth/repos/:repo/roles', async (req) => {
      const r = roleRequest(req.body);
      return auth.setRepoRole(req.params.repo, r.principal, r.role);
    });
    app.get('/auth/cluster/roles', async () => auth.clusterBindings());
    app.put('/auth/cluster/roles', async (req) => {
      const r = roleRequest(req.body);
      return auth.setClusterRole(r.principal, r.role);
    });
  };
}

function roleRequest(raw: unknown): SetRoleRequest {
  const b = body<Record<string, unknown>>(raw);
  return { principal: reqString(b, 'principal'), role: reqString(b, 'role') as SetRoleRequest['role'] };
}

/** Wires an auth service to the pfs it guards, for `buildApp`. */
export function wireAuth(auth: AuthService, pfs: Pfs): AuthService {
  auth.setLookup(resourceLookup(pfs, pfs.ctx.now));
  return auth;
}
