/**
 * Auth end to end: a real daemon (with the local executor, so pipelines run real workers that
 * carry their pipeline's token) driven through the SDK with different tokens. Covers activation,
 * the token error codes, roles, revocation, upload ownership, pipeline confinement with auth off
 * and on (including transform and spout user code that runs `put file` into another repo), the
 * old token of an updated pipeline, deactivation, and THE ROUTE WALK: every route of the app,
 * called with no token, a wrong token, a repoReader's token and an unrelated pipeline's token,
 * answers as its rule in `src/auth/route-table.ts` says.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { eventually, startTestDaemon, tarOf, CLI, type TestDaemon } from './harness.js';
import { Client, Upload, isSluiceError, type ErrorCode } from '../../src/client/index.js';
import { ROUTE_RULES, ruleFor, valuesAt, type Check, type RouteRule } from '../../src/auth/index.js';
import { registeredRoutes } from '../../src/server/routes/auth.js';

async function codeOf(p: Promise<unknown>): Promise<ErrorCode | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isSluiceError(err)) return err.code;
    throw err;
  }
}

function spec(name: string, repo: string, cmd: string[] = ['sh', '-c', 'true'], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name }, input: { pfs: { repo, glob: '/' } }, transform: { cmd }, ...extra });
}

/** What the walk knows about a persona: its principal and its roles. */
interface Persona {
  name: string;
  principal: string;
  token: string;
  roles: Record<string, 'repoReader' | 'repoWriter' | 'repoOwner'>;
}

/** The facts of the walk's world, for judging a rule the way the daemon should. */
interface World {
  existing: Set<string>;
  commitSetRepos: string[];
  uploadOwner: string;
}

const RANK = { repoReader: 1, repoWriter: 2, repoOwner: 3 } as const;

/** Would `rule` let `p` make `req`? An independent reading of the table's check kinds. */
function allowedBy(rule: RouteRule, p: Persona, req: { params: unknown; body: unknown; query: unknown }, w: World): boolean {
  const isPipeline = p.principal.startsWith('pipeline:');
  const has = (repo: string, need: keyof typeof RANK): boolean => {
    const held = p.roles[repo];
    return held !== undefined && RANK[held] >= RANK[need];
  };
  const at = (s: string): string[] => valuesAt(req, s as `body.${string}`).values;
  return rule.checks.every((c: Check) => {
    switch (c.need) {
      case 'public':
      case 'authenticated':
        return true;
      case 'user':
      case 'metricsScraper': // the test daemon keeps the default, --metrics-auth token
        return !isPipeline;
      case 'clusterAdmin':
        return false;
      case 'uploadOwner':
        return at(c.upload).every(() => w.uploadOwner === p.principal);
      case 'pipelineWorker':
        return at(c.pipeline).every((n) => p.principal === `pipeline:${n}`);
      case 'pipelineSpec':
        // The walk's spec is an update of pipeline `wp` reading `walk`.
        return has('walk', 'repoReader') && has('wp', 'repoOwner');
      case 'self':
        return (c.token === undefined || at(c.token).length === 0) && (c.principal === undefined || at(c.principal).every((x) => x === p.principal));
      default:
        if ('repo' in c) return at(c.repo).every((r) => (c.ifExists === true && !w.existing.has(r)) || has(r, c.need));
        if ('commitSet' in c) return w.commitSetRepos.every((r) => has(r, c.need));
        return at(c.jobOf).length === 0;
    }
  });
}

describe('auth', () => {
  let t: TestDaemon;
  let anon: Client;
  let root: Client;
  let rootToken: string;
  const clients: Client[] = [];
  const client = (token?: string): Client => {
    const c = new Client({ address: t.daemon.address, ...(token !== undefined ? { token } : {}) });
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestDaemon();
    anon = t.client;
    // The world of the walk, made while auth is off: `walk` (read by pipeline `wp`), and an
    // unrelated pipeline `other` reading `src`.
    for (const r of ['walk', 'src', 'elsewhere']) await anon.createRepo(r);
    await anon.putFile('walk', 'master', '/a.txt', Buffer.from('a'));
    await anon.putFile('src', 'master', '/s.txt', Buffer.from('s'));
    await anon.createPipeline(spec('wp', 'walk'));
    await anon.createPipeline(spec('other', 'src'));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await t.stop();
  });

  it('is off by default: calls need no token and whoami says auth is not activated', async () => {
    assert.equal(await codeOf(anon.whoAmI()), 'AUTH_NOT_ACTIVATED');
    assert.ok((await anon.listRepos()).some((r) => r.name === 'walk'));
    const access = await anon.accessLevels();
    assert.equal(access.active, false);
  });

  it('confines a pipeline token to its own repos with auth off', async () => {
    const p = client(await t.daemon.auth.pipelineToken('other'));
    assert.equal((await p.whoAmI()).principal, 'pipeline:other');
    // Reads its input, writes its output repo (any branch), nothing else.
    assert.equal((await p.getFileBuffer('src', 'master', '/s.txt')).toString(), 's');
    await p.putFile('other', 'scratch', '/mine.txt', Buffer.from('ok'));
    assert.equal(await codeOf(p.putFile('elsewhere', 'master', '/x', Buffer.from('no'))), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(p.getFileBuffer('walk', 'master', '/a.txt')), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(p.createRepo('mine')), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(p.claimDatum('wp', { worker: 'w', waitMs: 0 })), 'AUTH_PERMISSION_DENIED');
    // An upload session: its own, committed to another repo, is refused; to its own, allowed.
    const up = await p.createUpload();
    await up.putFile('/x', Buffer.from('x'));
    assert.equal(await codeOf(up.commit('elsewhere', 'master')), 'AUTH_PERMISSION_DENIED');
    await up.commit('other', 'scratch');
    // Someone else's upload is not its to use.
    const theirs = await anon.createUpload();
    assert.equal(await codeOf(new Upload(p, theirs.id).putFile('/y', Buffer.from('y'))), 'AUTH_PERMISSION_DENIED');
    assert.equal((await anon.listCommits('elsewhere')).length, 0, 'nothing was written to the other repo');
  });

  it('refuses user code that puts a file into another repo, with auth off', async () => {
    const leak = `echo leak | "${process.execPath}" "${CLI}" put file elsewhere@master:/leak -f -`;
    await anon.createPipeline(spec('leaker', 'src', ['sh', '-c', leak], { datum_tries: 1 }));
    const job = await eventually(async () => {
      const [j] = await anon.listJobs({ pipeline: 'leaker' });
      return j !== undefined && ['success', 'failure', 'killed'].includes(j.state) ? j : undefined;
    }, 30_000, 'the leaker job to end');
    assert.equal(job.state, 'failure', job.reason);
    assert.match(job.reason, /not authorized/);
    assert.match(job.reason, /pipeline:leaker/);
    assert.equal((await anon.listCommits('elsewhere')).length, 0, 'nothing was written to the other repo');
    await anon.deletePipeline('leaker');
  });

  it('refuses a spout that puts a file into another repo, with auth off (Pachyderm let it through, PR #5556)', async () => {
    const cli = `"${process.execPath}" "${CLI}"`;
    // The spout tries the other repo, then reports what it was told in its own repo.
    const script = `out=$(echo leak | ${cli} put file elsewhere@master:/leak -f - 2>&1); echo "$out" | ${cli} put file leakyspout@master:/result -f - && exec sleep 600`;
    await anon.createPipeline(JSON.stringify({ pipeline: { name: 'leakyspout' }, spout: {}, transform: { cmd: ['sh', '-c', script] } }));
    const result = await eventually(async () => {
      const r = await anon.getFileBuffer('leakyspout', 'master', '/result').catch(() => undefined);
      return r?.toString();
    }, 30_000, 'the spout to report');
    assert.match(result, /pipeline:leakyspout is not authorized/);
    assert.match(result, /repo elsewhere/);
    assert.equal((await anon.listCommits('elsewhere')).length, 0, 'nothing was written to the other repo');
    await anon.deletePipeline('leakyspout');
  });

  // ---- the route walk: sample requests for every route, judged against the route table ----

  const SAMPLE_SPEC = spec('wp', 'walk');
  let world: World;
  let walkUpload: string;
  let commitId: string;

  /** The walk's world as `as` sees it, and an upload owned by `owner` to aim at. */
  async function prepareWalk(as: Client, owner: string): Promise<void> {
    walkUpload = (await as.createUpload()).id;
    commitId = (await as.inspectCommit('walk', 'master')).id;
    world = {
      existing: new Set((await as.listRepos({ all: true })).map((r) => r.name)),
      commitSetRepos: [...new Set((await as.listCommitSet(commitId)).map((c) => c.repo))],
      uploadOwner: owner,
    };
  }

  async function pipelinePersona(): Promise<Persona> {
    return { name: 'pipeline', principal: 'pipeline:other', token: await t.daemon.auth.pipelineToken('other'), roles: { other: 'repoWriter', src: 'repoReader' } };
  }

  /** A request that names the walk's resources for `route`. */
  async function sample(method: string, route: string): Promise<{ path: string; params: Record<string, string>; body: unknown; query: Record<string, string>; raw?: { data: Buffer; type: string } }> {
    const params: Record<string, string> = {};
    for (const m of route.matchAll(/:(\w+)/g)) {
      const name = m[1] ?? '';
      params[name] = name === 'repo' ? 'walk'
        : name === 'branch' || name === 'ref' ? 'master'
          : name === 'name' ? 'wp'
            : route.includes('/uploads/') ? walkUpload
              : route.includes('/commit-sets/') ? commitId
                : route.startsWith('/console/') ? 'app.js' : 'nojob';
    }
    const path = route.replace(/:(\w+)/g, (_s, n: string) => encodeURIComponent(params[n] ?? ''));
    const query = { path: '/a.txt', pattern: '/*', pipeline: 'wp' };
    const streamed = method === 'PUT' && (route.endsWith('/file') || route.endsWith('/tar'));
    if (streamed) {
      const tar = route.endsWith('/tar');
      return { path, params, query, body: undefined, raw: { data: tar ? await tarOf({ x: 'x' }) : Buffer.from('x'), type: tar ? 'application/x-tar' : 'application/octet-stream' } };
    }
    const body = {
      name: 'walk', repo: 'walk', ref: 'master', branch: 'master', spec: SAMPLE_SPEC,
      src: { repo: 'walk', ref: 'master', path: '/a.txt' }, dst: '/b.txt', path: '/a.txt',
      worker: 'w', job: 'j', datum: 'd', state: 'running', robot: 'x', principal: 'robot:nobody', role: 'repoReader', lines: [],
    };
    return { path, params, query, body };
  }

  async function call(method: string, route: string, token: string | undefined): Promise<{ status: number; code?: string; message?: string }> {
    const s = await sample(method, route);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (s.raw !== undefined) {
      headers['content-type'] = s.raw.type;
      body = s.raw.data;
    } else if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(s.body);
    }
    const url = `http://${t.daemon.address}${s.path}?${new URLSearchParams(s.query).toString()}`;
    const res = await request(url, { method: method as 'GET', headers, body, signal: AbortSignal.timeout(15_000) }).catch((err: unknown) => {
      throw new Error(`${method} ${route}: ${String(err)}`);
    });
    if ((res.statusCode !== 401 && res.statusCode !== 403) || method === 'HEAD') {
      // Streams (subscribe) would go on for ever: stop reading, and ignore the abort this causes.
      res.body.on('error', () => undefined);
      res.body.destroy();
      return { status: res.statusCode };
    }
    const parsed = (await res.body.json()) as { error: { code: string; message: string } };
    return { status: res.statusCode, code: parsed.error.code, message: parsed.error.message };
  }

  function routesOfApp(): Array<[string, string]> {
    return registeredRoutes(t.daemon.app).map((r) => {
      const [method = '', route = ''] = r.split(' ');
      return [method, route];
    });
  }

  /** Calls every route as `persona` and checks each answer against the route's rule. */
  async function walk(persona: Persona): Promise<{ allowed: number; denied: number }> {
    let allowed = 0;
    let denied = 0;
    for (const [method, route] of routesOfApp()) {
      const rule = ruleFor(method, route);
      assert.ok(rule !== undefined, `${method} ${route} has no rule`);
      const s = await sample(method, route);
      const expect = allowedBy(rule, persona, { params: s.params, body: s.body, query: s.query }, world);
      // HEAD on the commit stream sends its headers only with the first line of a body it
      // must not send, so an allowed one never answers; GET on it is walked.
      if (expect && method === 'HEAD' && route.endsWith('/subscribe')) continue;
      const got = await call(method, route, persona.token);
      if (expect) {
        allowed++;
        assert.ok(got.status !== 401 && got.status !== 403, `${persona.name}: ${method} ${route} should pass authorization, got ${got.status} ${got.code ?? ''} ${got.message ?? ''}`);
      } else {
        denied++;
        assert.equal(got.status, 403, `${persona.name}: ${method} ${route} should be refused, got ${got.status}`);
        if (method !== 'HEAD') {
          assert.equal(got.code, 'AUTH_PERMISSION_DENIED');
          assert.match(got.message ?? '', new RegExp(persona.principal), 'the error names the principal');
        }
      }
    }
    return { allowed, denied };
  }

  it("answers an unrelated pipeline's token on every route as the rules say, with auth off", async () => {
    await prepareWalk(anon, '');
    const n = await walk(await pipelinePersona());
    assert.ok(n.allowed > 5 && n.denied > 50, `walk too one-sided: ${n.allowed} allowed, ${n.denied} denied`);
  });

  it('activates once: the root token is returned, a second activate is refused', async () => {
    const res = await anon.activateAuth();
    rootToken = res.rootToken;
    assert.equal(res.principal, 'pach:root');
    assert.match(rootToken, /^[0-9a-f]{64}$/);
    root = client(rootToken);
    assert.equal(await codeOf(root.activateAuth()), 'AUTH_ALREADY_ACTIVATED');
    assert.equal(await codeOf(anon.activateAuth()), 'AUTH_TOKEN_MISSING');
    assert.deepEqual(await root.whoAmI(), { principal: 'pach:root', expiration: null, clusterRoles: ['clusterAdmin'] });
  });

  it('refuses a missing, a wrong and an expired token with their codes', async () => {
    assert.equal(await codeOf(anon.listRepos()), 'AUTH_TOKEN_MISSING');
    assert.equal(await codeOf(client('0'.repeat(64)).listRepos()), 'AUTH_TOKEN_INVALID');
    const short = await root.getRobotToken('brief', { ttlSeconds: 0.3 });
    assert.ok(short.expiration !== null);
    const b = client(short.token);
    await eventually(async () => ((await codeOf(b.whoAmI())) === 'AUTH_TOKEN_EXPIRED' ? true : undefined), 10_000, 'the robot token to expire');
    assert.equal(await codeOf(b.listRepos()), 'AUTH_TOKEN_EXPIRED');
    // Version and health stay open.
    assert.ok((await anon.version()).version.length > 0);
  });

  it('lets a reader read but not write, a writer put, and none removes access', async () => {
    await root.createRepo('data');
    await root.putFile('data', 'master', '/f', Buffer.from('v1'));
    const r = client((await root.getRobotToken('reader')).token);
    assert.equal(await codeOf(r.getFileBuffer('data', 'master', '/f')), 'AUTH_PERMISSION_DENIED');
    await root.setRepoRole('data', 'robot:reader', 'repoReader');
    assert.equal((await r.getFileBuffer('data', 'master', '/f')).toString(), 'v1');
    const denied = await r.putFile('data', 'master', '/f', Buffer.from('v2')).catch((e: unknown) => e);
    assert.ok(isSluiceError(denied, 'AUTH_PERMISSION_DENIED'));
    assert.match(denied.message, /robot:reader/);
    assert.match(denied.message, /repoWriter/);
    assert.match(denied.message, /repo data/);
    await root.setRepoRole('data', 'robot:reader', 'repoWriter');
    await r.putFile('data', 'master', '/f', Buffer.from('v2'));
    assert.equal((await root.getFileBuffer('data', 'master', '/f')).toString(), 'v2');
    assert.deepEqual(await root.getRepoRoles('data'), [{ principal: 'pach:root', role: 'repoOwner' }, { principal: 'robot:reader', role: 'repoWriter' }]);
    await root.setRepoRole('data', 'robot:reader', 'none');
    assert.equal(await codeOf(r.getFileBuffer('data', 'master', '/f')), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(r.setRepoRole('data', 'robot:reader', 'repoOwner')), 'AUTH_PERMISSION_DENIED');
  });

  it('makes the creator of a repo its owner', async () => {
    const alice = client((await root.getRobotToken('alice')).token);
    const bob = client((await root.getRobotToken('bob')).token);
    await alice.createRepo('alices');
    assert.deepEqual(await alice.getRepoRoles('alices'), [{ principal: 'robot:alice', role: 'repoOwner' }]);
    await alice.putFile('alices', 'master', '/x', Buffer.from('x'));
    assert.equal(await codeOf(bob.listCommits('alices')), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(bob.createRepo('alices', { update: true, description: 'mine now' })), 'AUTH_PERMISSION_DENIED');
    await alice.setRepoRole('alices', 'robot:bob', 'repoReader');
    assert.equal((await bob.listCommits('alices')).length, 1);
    assert.deepEqual((await bob.accessLevels()).repos, { alices: 'repoReader' });
    // The creator of a pipeline owns its output repo; the pipeline writes it and reads its input.
    await alice.createPipeline(spec('alicep', 'alices'));
    assert.deepEqual(await alice.getRepoRoles('alicep'), [{ principal: 'pipeline:alicep', role: 'repoWriter' }, { principal: 'robot:alice', role: 'repoOwner' }]);
    assert.ok((await alice.getRepoRoles('alices')).some((b) => b.principal === 'pipeline:alicep' && b.role === 'repoReader'));
    assert.equal(await codeOf(bob.createPipeline(spec('alicep', 'alices', ['sh', '-c', 'exit 0']), { update: true })), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(bob.deletePipeline('alicep')), 'AUTH_PERMISSION_DENIED');
    await alice.deletePipeline('alicep');
    assert.ok(!(await alice.getRepoRoles('alices')).some((b) => b.principal === 'pipeline:alicep'), 'a deleted pipeline keeps no roles');
    // A deleted repo's roles go with it: a new repo of that name belongs to its new creator.
    await alice.deleteRepo('alices', { force: true });
    await bob.createRepo('alices');
    assert.deepEqual(await bob.getRepoRoles('alices'), [{ principal: 'robot:bob', role: 'repoOwner' }]);
  });

  it('lets only the creator of an upload use it', async () => {
    await root.setRepoRole('data', 'robot:w1', 'repoWriter');
    await root.setRepoRole('data', 'robot:w2', 'repoWriter');
    const w1 = client((await root.getRobotToken('w1')).token);
    const w2 = client((await root.getRobotToken('w2')).token);
    const up = await w1.createUpload();
    await up.putFile('/u', Buffer.from('u'));
    const stolen = new Upload(w2, up.id);
    assert.equal(await codeOf(stolen.putFile('/evil', Buffer.from('e'))), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(stolen.commit('data', 'master')), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(stolen.abort()), 'AUTH_PERMISSION_DENIED');
    await up.commit('data', 'master');
    assert.equal((await root.getFileBuffer('data', 'master', '/u')).toString(), 'u');
    assert.equal(await codeOf(root.getFileBuffer('data', 'master', '/evil')), 'PFS_FILE_NOT_FOUND');
  });

  it('revokes a token, and lets a robot revoke its own', async () => {
    const a = await root.getRobotToken('revokee');
    const ca = client(a.token);
    assert.equal((await ca.whoAmI()).principal, 'robot:revokee');
    assert.deepEqual(await root.revokeAuthToken({ token: a.token }), { revoked: 1 });
    assert.equal(await codeOf(ca.whoAmI()), 'AUTH_TOKEN_INVALID');
    const b = await root.getRobotToken('selfish');
    const other = await root.getRobotToken('victim');
    const cb = client(b.token);
    assert.equal(await codeOf(cb.revokeAuthToken({ token: other.token })), 'AUTH_PERMISSION_DENIED');
    assert.deepEqual(await cb.revokeAuthToken({ token: b.token }), { revoked: 1 });
    assert.equal(await codeOf(cb.whoAmI()), 'AUTH_TOKEN_INVALID');
  });

  it('confines a pipeline token with auth on, and refuses its old token after update pipeline', async () => {
    const old = await t.daemon.auth.pipelineToken('other');
    const p = client(old);
    assert.equal(await codeOf(p.putFile('elsewhere', 'master', '/x', Buffer.from('no'))), 'AUTH_PERMISSION_DENIED');
    await p.putFile('other', 'scratch', '/again.txt', Buffer.from('ok'));
    await root.createPipeline(spec('other', 'src', ['sh', '-c', 'true; true']), { update: true });
    assert.equal(await codeOf(p.whoAmI()), 'AUTH_TOKEN_INVALID');
    assert.equal(await codeOf(p.putFile('other', 'scratch', '/late.txt', Buffer.from('late'))), 'AUTH_TOKEN_INVALID');
    const fresh = client(await t.daemon.auth.pipelineToken('other'));
    assert.equal((await fresh.whoAmI()).principal, 'pipeline:other');
    assert.deepEqual((await root.getRepoRoles('other')).find((b) => b.principal === 'pipeline:other'), { principal: 'pipeline:other', role: 'repoWriter' });
    assert.equal(await codeOf(root.setRepoRole('elsewhere', 'pipeline:other', 'repoWriter')), 'INVALID_ARGUMENT');
  });

  describe('the route walk, with auth on', () => {
    let reader: Persona;

    before(async () => {
      const rt = await root.getRobotToken('walker');
      await root.setRepoRole('walk', 'robot:walker', 'repoReader');
      await root.setRepoRole('wp', 'robot:walker', 'repoReader');
      reader = { name: 'repoReader', principal: 'robot:walker', token: rt.token, roles: { walk: 'repoReader', wp: 'repoReader' } };
      await prepareWalk(root, 'pach:root');
    });

    it('has a rule for every route, and no rule without a route', () => {
      const routes = routesOfApp();
      const missing = routes.filter(([m, r]) => ruleFor(m, r) === undefined).map(([m, r]) => `${m} ${r}`);
      assert.deepEqual(missing, []);
      const seen = new Set(routes.map(([m, r]) => `${m} ${r}`));
      assert.deepEqual(Object.keys(ROUTE_RULES).filter((id) => !seen.has(id)), []);
    });

    it('refuses every non-public route without a token, or with a wrong one', async () => {
      for (const [method, route] of routesOfApp()) {
        const rule = ruleFor(method, route);
        assert.ok(rule !== undefined, `${method} ${route} has no rule`);
        const open = rule.checks.some((c) => c.need === 'public');
        const none = await call(method, route, undefined);
        const wrong = await call(method, route, 'f'.repeat(64));
        if (open) {
          assert.ok(none.status < 400, `${method} ${route} is public but answered ${none.status}`);
          assert.ok(wrong.status < 400, `${method} ${route} is public but answered ${wrong.status} to a wrong token`);
        } else {
          assert.equal(none.status, 401, `${method} ${route} without a token: ${none.status}`);
          assert.equal(wrong.status, 401, `${method} ${route} with a wrong token: ${wrong.status}`);
          // A HEAD answer has no body to carry the code.
          if (method !== 'HEAD') {
            assert.equal(none.code, 'AUTH_TOKEN_MISSING', `${method} ${route} without a token`);
            assert.equal(wrong.code, 'AUTH_TOKEN_INVALID', `${method} ${route} with a wrong token`);
          }
        }
      }
    });

    it("answers a repoReader's token as each route's rule says", async () => {
      const n = await walk(reader);
      assert.ok(n.allowed > 20 && n.denied > 30, `walk too one-sided: ${n.allowed} allowed, ${n.denied} denied`);
    });

    it("answers an unrelated pipeline's token as each route's rule says", async () => {
      const n = await walk(await pipelinePersona());
      assert.ok(n.allowed > 5 && n.denied > 50, `walk too one-sided: ${n.allowed} allowed, ${n.denied} denied`);
    });
  });

  it('deactivates (root only) and restores open access; pipelines stay confined', async () => {
    const r = client((await root.getRobotToken('notadmin')).token);
    assert.equal(await codeOf(r.deactivateAuth()), 'AUTH_PERMISSION_DENIED');
    await root.deactivateAuth();
    assert.ok((await anon.listRepos()).length > 0);
    await anon.putFile('elsewhere', 'master', '/open', Buffer.from('open'));
    assert.equal(await codeOf(anon.whoAmI()), 'AUTH_NOT_ACTIVATED');
    // The old root token is ignored now rather than refused.
    assert.ok((await root.listRepos()).length > 0);
    const p = client(await t.daemon.auth.pipelineToken('other'));
    assert.equal(await codeOf(p.putFile('elsewhere', 'master', '/x', Buffer.from('no'))), 'AUTH_PERMISSION_DENIED');
    assert.equal(await codeOf(anon.deactivateAuth()), 'AUTH_NOT_ACTIVATED');
  });
});
