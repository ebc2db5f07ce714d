import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openSqliteMetadataStore, type MetadataStore } from '../storage/metadata/index.js';
import { FsObjectStore } from '../storage/objects/index.js';
import { openPfs } from '../pfs/index.js';
import { NoopExecutor, openPps } from '../pps/index.js';
import { buildApp } from '../server/app.js';
import { registeredRoutes } from '../server/routes/auth.js';
import { ROUTE_RULES, ruleFor } from './route-table.js';

describe('the route table', () => {
  let dir: string;
  let meta: MetadataStore;
  let objects: FsObjectStore;
  let app: FastifyInstance;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-routes-'));
    meta = await openSqliteMetadataStore(join(dir, 'meta.db'));
    objects = new FsObjectStore(join(dir, 'objects'));
    await objects.open();
    const pfs = openPfs(meta, objects);
    app = await buildApp({ pfs, pps: openPps(pfs, new NoopExecutor()), version: 'test' });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await objects.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('has a rule for every route the app registers', () => {
    const routes = registeredRoutes(app);
    assert.ok(routes.length > 40, `only ${routes.length} routes seen`);
    const missing = routes.filter((r) => {
      const [method = '', url = ''] = r.split(' ');
      return ruleFor(method, url) === undefined;
    });
    assert.deepEqual(missing, [], `routes without a rule in src/auth/route-table.ts: ${missing.join(', ')}`);
  });

  it('has no rule for a route that does not exist', () => {
    const routes = new Set(registeredRoutes(app));
    const stale = Object.keys(ROUTE_RULES).filter((id) => !routes.has(id));
    assert.deepEqual(stale, []);
  });

  it('makes only version, health and the console static files public', () => {
    const open = Object.entries(ROUTE_RULES).filter(([, r]) => r.checks.some((c) => c.need === 'public')).map(([id]) => id).sort();
    assert.deepEqual(open, ['GET /', 'GET /api/v1/health', 'GET /api/v1/version', 'GET /console/:file']);
  });
});
