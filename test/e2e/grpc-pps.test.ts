/**
 * Pachyderm's pps_v2 and auth_v2 gRPC services end to end: a real daemon with the local executor
 * (real workers running real user code), driven by a real grpc-js client built from the
 * project's protos (test/e2e/grpc-client.ts). Covers every served pps method (pipelines from a
 * CreatePipelineRequest and from CreatePipelineV2's JSON, jobs and job sets with wait, datums,
 * logs with follow cut off by the client), the refusals (bad specs, unserved methods, filters
 * Sluice cannot apply), and auth off (the "not activated" answers Pachyderm's clients rely on)
 * and on (activate with a supplied root token, whoami, robot tokens, role bindings, revoke).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { startTestDaemon, type TestDaemon } from './harness.js';
import { GrpcTestClient, putMsgs, statusOf, type Msg } from './grpc-client.js';
import { packageRoot } from '../../src/lib/version.js';

const COPY = join(packageRoot(), 'test', 'fixtures', 'pipelines', 'copy.sh');

/** A CreatePipelineRequest as python-pachyderm builds it (unset fields absent). */
function copyRequest(name: string, repo: string, extra: Msg = {}): Msg {
  return {
    pipeline: { name, project: { name: '' } },
    transform: { cmd: ['sh', COPY], image: 'alpine' },
    input: { pfs: { repo, glob: '/*' } },
    datum_tries: 3,
    ...extra,
  };
}

describe('gRPC pps_v2 and auth_v2 (auth off)', () => {
  let t: TestDaemon;
  let g: GrpcTestClient;
  before(async () => {
    t = await startTestDaemon();
    g = new GrpcTestClient(t.daemon.address);
  });
  after(async () => {
    g.close();
    await t.stop();
  });

  it('creates a pipeline from a CreatePipelineRequest, runs its job, and answers inspect/list for pipelines, jobs, job sets and datums', async () => {
    await g.unary('pfs', 'CreateRepo', { repo: { name: 'images' } });
    await g.modifyFile(putMsgs('images', { '/a.txt': 'A', '/b.txt': 'B' }));
    await g.unary('pps', 'CreatePipeline', copyRequest('edges', 'images', { description: 'copies', datum_timeout: { seconds: 90, nanos: 0 } }));

    // The HTTP API sees the same pipeline, with the spec the request stood for.
    const http = await t.client.inspectPipeline('edges');
    assert.equal(http.description, 'copies');
    assert.equal((http.spec as { datumTimeout: string }).datumTimeout, '90s');

    const info = await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'edges' }, details: true });
    assert.equal(info.pipeline.name, 'edges');
    assert.equal(info.pipeline.project.name, 'default');
    assert.equal(info.type, 'PIPELINE_TYPE_TRANSFORM');
    assert.equal(info.version, 1);
    assert.equal(info.spec_commit.repo.name, 'edges');
    assert.equal(info.spec_commit.repo.type, 'spec');
    assert.deepEqual(info.details.transform.cmd, ['sh', COPY]);
    assert.equal(info.details.input.pfs.repo, 'images');
    assert.equal(info.details.input.pfs.glob, '/*');
    assert.equal(Number(info.details.datum_timeout.seconds), 90);
    assert.equal(info.details.output_branch, 'master');
    assert.deepEqual((await g.list('pps', 'ListPipeline', {})).map((p) => p.pipeline.name), ['edges']);

    // The pipeline's first job covers what the input held at creation; its id is the spec
    // commit's (Pachyderm's global ids). Wait for it over gRPC.
    const head = info.spec_commit.id as string;
    const job = await g.unary('pps', 'InspectJob', { job: { pipeline: { name: 'edges' }, id: head }, wait: true, details: true });
    assert.equal(job.state, 'JOB_SUCCESS');
    assert.equal(Number(job.data_total), 2);
    assert.equal(Number(job.data_processed), 2);
    assert.equal(job.output_commit.repo.name, 'edges');
    assert.equal(job.output_commit.id, head);
    assert.equal(job.output_commit.repo.type, 'user');
    assert.deepEqual(job.details.transform.cmd, ['sh', COPY]);
    assert.deepEqual(await t.client.getFileBuffer('edges', 'master', '/a.txt'), Buffer.from('A'));

    const jobs = await g.list('pps', 'ListJob', { pipeline: { name: 'edges' } });
    assert.ok(jobs.some((j) => j.job.id === head && j.state === 'JOB_SUCCESS'), JSON.stringify(jobs.map((j) => j.job.id)));
    assert.equal(jobs[0]!.details, null, 'details only when asked');
    // Filtering by input commit: the spec commit counts, as in Pachyderm (it is provenance).
    const bySpec = await g.list('pps', 'ListJob', { pipeline: { name: 'edges' }, input_commit: [info.spec_commit] });
    assert.deepEqual(bySpec.map((j) => j.job.id), [head]);
    const byOther = await g.list('pps', 'ListJob', { pipeline: { name: 'edges' }, input_commit: [{ repo: { name: 'images' }, id: 'f'.repeat(32) }] });
    assert.deepEqual(byOther, []);
    const sets = await g.list('pps', 'ListJobSet', {});
    assert.ok(sets.some((s) => s.job_set.id === head && s.jobs.length === 1 && s.jobs[0].job.pipeline.name === 'edges'));
    const set = await g.list('pps', 'InspectJobSet', { job_set: { id: head }, wait: true });
    assert.deepEqual(set.map((j) => [j.job.pipeline.name, j.state]), [['edges', 'JOB_SUCCESS']]);

    const datums = await g.list('pps', 'ListDatum', { job: { pipeline: { name: 'edges' }, id: head } });
    assert.equal(datums.length, 2);
    assert.ok(datums.every((d) => d.state === 'SUCCESS'));
    assert.deepEqual(datums.map((d) => d.data[0].file.path).sort(), ['/a.txt', '/b.txt']);
    const one = await g.unary('pps', 'InspectDatum', { datum: { job: { pipeline: { name: 'edges' }, id: head }, id: datums[0]!.datum.id } });
    assert.equal(one.datum.id, datums[0]!.datum.id);
    const filtered = await g.list('pps', 'ListDatum', { job: { pipeline: { name: 'edges' }, id: head }, filter: { state: ['FAILED'] } });
    assert.deepEqual(filtered, []);
    const missing = await statusOf(g.unary('pps', 'InspectDatum', { datum: { job: { pipeline: { name: 'edges' }, id: head }, id: 'nope' } }));
    assert.equal(missing.code, status.NOT_FOUND);
  });

  it('streams logs, and a followed log ends when the client cancels', async () => {
    const lines = await g.list('pps', 'GetLogs', { pipeline: { name: 'edges' } });
    assert.ok(lines.some((l) => l.message === 'beginning to run user code' && l.user === false && l.pipeline_name === 'edges'));
    const tail = await g.list('pps', 'GetLogs', { pipeline: { name: 'edges' }, tail: 1 });
    assert.equal(tail.length, 1);
    assert.equal(tail[0]!.message, lines[lines.length - 1]!.message);

    const follow = g.stream('pps', 'GetLogs', { pipeline: { name: 'edges' }, follow: true });
    const seen: Msg[] = [];
    const ended = new Promise<unknown>((resolve) => {
      follow.on('data', (m: Msg) => {
        seen.push(m);
        if (seen.length === lines.length) follow.cancel();
      });
      follow.on('error', resolve);
      follow.on('end', () => resolve('end'));
    });
    const end = (await ended) as { code?: number };
    assert.equal(end.code, status.CANCELLED);
    assert.equal(seen.length, lines.length);
    // The daemon keeps serving after the cancelled stream.
    assert.equal((await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'edges' } })).pipeline.name, 'edges');
  });

  it('stops and starts a pipeline; creates one from CreatePipelineV2 JSON; dry_run creates nothing', async () => {
    await g.unary('pps', 'StopPipeline', { pipeline: { name: 'edges' } });
    assert.equal((await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'edges' } })).state, 'PIPELINE_PAUSED');
    assert.equal((await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'edges' } })).stopped, true);
    await g.unary('pps', 'StartPipeline', { pipeline: { name: 'edges' } });
    assert.notEqual((await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'edges' } })).state, 'PIPELINE_PAUSED');

    const json = JSON.stringify({ pipeline: { name: 'again' }, transform: { cmd: ['sh', COPY] }, input: { pfs: { repo: 'edges', glob: '/*' } } });
    const dry = await g.unary('pps', 'CreatePipelineV2', { create_pipeline_request_json: json, dry_run: true });
    assert.equal(dry.effective_create_pipeline_request_json, json);
    assert.equal((await statusOf(g.unary('pps', 'InspectPipeline', { pipeline: { name: 'again' } }))).code, status.NOT_FOUND);
    const created = await g.unary('pps', 'CreatePipelineV2', { create_pipeline_request_json: json });
    const effective = JSON.parse(created.effective_create_pipeline_request_json) as { pipeline: { name: string }; outputBranch: string; datumTries: number };
    assert.equal(effective.pipeline.name, 'again');
    assert.equal(effective.datumTries, 3, 'the effective spec has the defaults applied');
    const v2 = await g.unary('pps', 'InspectPipeline', { pipeline: { name: 'again' } });
    assert.equal(v2.details.input.pfs.repo, 'edges');
    // An update bumps the version; ListPipeline with history shows both.
    await g.unary('pps', 'CreatePipelineV2', { create_pipeline_request_json: json.replace('"/*"', '"/"'), update: true });
    const versions = await g.list('pps', 'ListPipeline', { pipeline: { name: 'again' }, history: -1 });
    assert.deepEqual(versions.map((p) => Number(p.version)), [2, 1]);
    await g.unary('pps', 'DeletePipeline', { pipeline: { name: 'again' } });
    assert.equal((await statusOf(g.unary('pps', 'InspectPipeline', { pipeline: { name: 'again' } }))).code, status.NOT_FOUND);
  });

  it('refuses bad specs with their reason, other projects, and what it does not serve, and changes nothing', async () => {
    const dup = await statusOf(g.unary('pps', 'CreatePipeline', copyRequest('edges', 'images')));
    assert.equal(dup.code, status.ALREADY_EXISTS);
    const noInput = await statusOf(g.unary('pps', 'CreatePipeline', copyRequest('orphan', 'no-such-repo')));
    assert.equal(noInput.code, status.INVALID_ARGUMENT);
    assert.match(noInput.details, /input repo no-such-repo not found/);
    const badName = await statusOf(g.unary('pps', 'CreatePipeline', copyRequest('bad name', 'images')));
    assert.equal(badName.code, status.INVALID_ARGUMENT);
    const badJson = await statusOf(g.unary('pps', 'CreatePipelineV2', { create_pipeline_request_json: '{"pipeline": ' }));
    assert.equal(badJson.code, status.INVALID_ARGUMENT);
    const project = await statusOf(g.unary('pps', 'CreatePipeline', copyRequest('p2', 'images', { pipeline: { name: 'p2', project: { name: 'research' } } })));
    assert.equal(project.code, status.NOT_FOUND);
    assert.match(project.details, /project research not found/);
    assert.deepEqual((await g.list('pps', 'ListPipeline', {})).map((p) => p.pipeline.name), ['edges']);

    const jq = await statusOf(g.list('pps', 'ListJob', { jqFilter: '.state' }));
    assert.equal(jq.code, status.UNIMPLEMENTED);
    const secret = await statusOf(g.unary('pps', 'ListSecret', {}));
    assert.equal(secret.code, status.UNIMPLEMENTED);
    assert.match(secret.details, /pps_v2\.API\/ListSecret is not served by Sluice/);
    const cron = await statusOf(g.unary('pps', 'RunCron', {}));
    assert.match(cron.details, /RunCron/);
    // A job of a pipeline that is not there, and a job id that is not there.
    assert.equal((await statusOf(g.unary('pps', 'InspectJob', { job: { pipeline: { name: 'nope' }, id: 'a'.repeat(32) } }))).code, status.NOT_FOUND);
    assert.equal((await statusOf(g.unary('pps', 'InspectJob', { job: { pipeline: { name: 'edges' }, id: 'a'.repeat(32) } }))).code, status.NOT_FOUND);
  });

  it('answers auth, identity and license calls with "the auth service is not activated", as Pachyderm’s clients expect', async () => {
    for (const [svc, method] of [['auth', 'WhoAmI'], ['auth', 'Deactivate'], ['auth', 'GetRoleBinding'], ['auth', 'GetRobotToken'], ['identity', 'DeleteAll'], ['license', 'DeleteAll']] as const) {
      const req = method === 'GetRoleBinding' ? { resource: { type: 'CLUSTER' } } : method === 'GetRobotToken' ? { robot: 'r' } : {};
      const s = await statusOf(g.unary(svc, method, req));
      assert.equal(s.code, status.UNIMPLEMENTED, `${svc} ${method}`);
      assert.match(s.details, /the auth service is not activated/, `${svc} ${method}`);
    }
    const oidc = await statusOf(g.unary('auth', 'GetOIDCLogin', {}));
    assert.equal(oidc.code, status.UNIMPLEMENTED);
    assert.match(oidc.details, /GetOIDCLogin is not served by Sluice/);
  });

  it('deletes everything with DeleteAll', async () => {
    await g.unary('pps', 'DeleteAll', {});
    assert.deepEqual(await g.list('pps', 'ListPipeline', {}), []);
    assert.deepEqual(await t.client.listPipelines(), []);
  });
});

describe('gRPC auth_v2 (auth on)', () => {
  let t: TestDaemon;
  const ROOT = 'iamroot-for-this-test';
  before(async () => {
    t = await startTestDaemon();
  });
  after(async () => t.stop());

  it('activates with a supplied root token and serves whoami, robot tokens, role bindings and revoke through the route table', async () => {
    const anon = new GrpcTestClient(t.daemon.address);
    const root = new GrpcTestClient(t.daemon.address, ROOT);
    try {
      const act = await anon.unary('auth', 'Activate', { root_token: ROOT });
      assert.equal(act.pach_token, ROOT);
      assert.equal((await statusOf(root.unary('auth', 'Activate', { root_token: 'another-token' }))).code, status.ALREADY_EXISTS);
      assert.equal((await statusOf(anon.unary('auth', 'Activate', {}))).code, status.UNAUTHENTICATED, 'once on, activating needs a token');
      assert.equal((await root.unary('auth', 'WhoAmI', {})).username, 'pach:root');
      assert.equal((await statusOf(anon.unary('auth', 'WhoAmI', {}))).code, status.UNAUTHENTICATED);

      const robotToken = (await root.unary('auth', 'GetRobotToken', { robot: 'ci', ttl: 3600 })).token as string;
      const robot = new GrpcTestClient(t.daemon.address, robotToken);
      try {
        const me = await robot.unary('auth', 'WhoAmI', {});
        assert.equal(me.username, 'robot:ci');
        assert.ok(Number(me.expiration.seconds) > Date.now() / 1000);
        // A robot may not mint tokens, nor read a repo it has no role on.
        assert.equal((await statusOf(robot.unary('auth', 'GetRobotToken', { robot: 'x' }))).code, status.PERMISSION_DENIED);
        await root.unary('pfs', 'CreateRepo', { repo: { name: 'data' } });
        assert.equal((await statusOf(robot.unary('pps', 'CreatePipeline', copyRequest('reader', 'data')))).code, status.PERMISSION_DENIED);

        await root.unary('auth', 'ModifyRoleBinding', { resource: { type: 'REPO', name: 'default/data' }, principal: 'robot:ci', roles: ['repoReader', 'repoWriter'] });
        const binding = await root.unary('auth', 'GetRoleBinding', { resource: { type: 'REPO', name: 'data' } });
        assert.deepEqual(binding.binding.entries['robot:ci'].roles, { repoWriter: true }, 'several repo roles keep the highest');
        assert.equal(binding.binding.entries['pach:root'].roles.repoOwner, true, 'the creator owns the repo');
        // Now the robot reads data, so it may create a pipeline on it, and it owns the output.
        await robot.unary('pps', 'CreatePipeline', copyRequest('reader', 'data'));
        const out = await robot.unary('auth', 'GetRoleBinding', { resource: { type: 'REPO', name: 'reader' } });
        assert.equal(out.binding.entries['robot:ci'].roles.repoOwner, true);
        await robot.unary('pps', 'DeletePipeline', { pipeline: { name: 'reader' } });

        const cluster = await root.unary('auth', 'GetRoleBinding', { resource: { type: 'CLUSTER' } });
        assert.equal(cluster.binding.entries['pach:root'].roles.clusterAdmin, true);
        assert.equal((await statusOf(robot.unary('auth', 'GetRoleBinding', { resource: { type: 'CLUSTER' } }))).code, status.PERMISSION_DENIED);
        const bad = await statusOf(root.unary('auth', 'ModifyRoleBinding', { resource: { type: 'REPO', name: 'data' }, principal: 'robot:ci', roles: ['projectViewer'] }));
        assert.equal(bad.code, status.INVALID_ARGUMENT);
        assert.equal((await statusOf(root.unary('auth', 'ModifyRoleBinding', { resource: { type: 'PROJECT', name: 'default' }, principal: 'robot:ci', roles: ['repoReader'] }))).code, status.UNIMPLEMENTED);

        const roles = await root.unary('auth', 'GetRolesForPermission', { permission: 'REPO_WRITE' });
        assert.deepEqual(roles.roles.map((r: Msg) => r.name).sort(), ['clusterAdmin', 'repoOwner', 'repoWriter']);

        // Revoking its own token: the next call is refused.
        assert.equal(Number((await robot.unary('auth', 'RevokeAuthToken', { token: robotToken })).number), 1);
        assert.equal((await statusOf(robot.unary('auth', 'WhoAmI', {}))).code, status.UNAUTHENTICATED);
      } finally {
        robot.close();
      }

      await root.unary('auth', 'Deactivate', {});
      assert.match((await statusOf(anon.unary('auth', 'WhoAmI', {}))).details, /the auth service is not activated/);
    } finally {
      anon.close();
      root.close();
    }
  });
});

