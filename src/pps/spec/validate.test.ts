import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SluiceError, isSluiceError } from '../../errors/index.js';
import { applyDefaults } from './defaults.js';
import { parseSpecs } from './parse.js';
import type { ParsedSpec, PipelineSpec } from './types.js';
import { isValidMarker, parseCronSpec, validateParsedSpec, validateSpec } from './validate.js';

function parsed(text: string): ParsedSpec {
  const [first] = parseSpecs(text, { file: 'spec.json' });
  assert.ok(first !== undefined);
  return first;
}

/** A valid transform pipeline, as JSON, with `extra` merged over the top level. */
function specText(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    pipeline: { name: 'edges' },
    transform: { cmd: ['python3', '/edges.py'] },
    input: { pfs: { repo: 'images', glob: '/*' } },
    ...extra,
  });
}

function spoutText(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ pipeline: { name: 'sp' }, transform: { cmd: ['sh'] }, spout: {}, ...extra });
}

/** Validates `text`, expecting PPS_SPEC_INVALID; returns the error. */
function invalid(text: string): SluiceError {
  const p = parsed(text);
  try {
    validateParsedSpec(p);
  } catch (err) {
    assert.ok(isSluiceError(err, 'PPS_SPEC_INVALID'), `expected PPS_SPEC_INVALID, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a PPS_SPEC_INVALID error');
}

function valid(text: string): void {
  validateParsedSpec(parsed(text));
}

describe('validateSpec: pipeline and transform', () => {
  it('accepts a minimal transform pipeline without image, name or branch (defaults fill them)', () => {
    valid(specText());
  });

  it('refuses a spec without pipeline or name', () => {
    assert.equal(invalid('{"transform": {}, "input": {"pfs": {"repo": "r", "glob": "/"}}}').message, 'invalid pipeline spec: request.Pipeline cannot be nil');
    assert.equal(invalid(specText({ pipeline: {} })).message, 'invalid pipeline spec: request.Pipeline.Name cannot be empty');
  });

  it('refuses an invalid pipeline name with Pachyderm’s message', () => {
    const err = invalid(specText({ pipeline: { name: 'my pipe' } }));
    assert.equal(err.message, 'invalid pipeline name: name (my pipe) invalid: only alphanumeric characters, underscores, and dashes are allowed');
    assert.deepEqual(err.details, { field: 'pipeline.name', file: 'spec.json', line: 1, column: 14 });
  });

  it('refuses a name that does not start with an alphanumeric character', () => {
    assert.equal(invalid(specText({ pipeline: { name: '-edges' } })).message, 'pipeline names must start with an alphanumeric character');
    assert.equal(invalid(specText({ pipeline: { name: '_edges' } })).message, 'pipeline names must start with an alphanumeric character');
  });

  it('refuses a name longer than 63 characters and accepts 63', () => {
    valid(specText({ pipeline: { name: 'a'.repeat(63) } }));
    const long = 'a'.repeat(64);
    assert.equal(invalid(specText({ pipeline: { name: long } })).message, `pipeline name is 64 characters long, but must have at most 63: "${long}"`);
  });

  it('refuses a pipeline without a transform', () => {
    const err = invalid('{"pipeline": {"name": "p"}, "input": {"pfs": {"repo": "r", "glob": "/"}}}');
    assert.equal(err.message, 'pipeline must specify a transform');
    assert.equal(err.details?.field, 'transform');
  });

  it('refuses a TFJob', () => {
    assert.equal(invalid(specText({ tf_job: { kind: 'TFJob' } })).message, 'embedding TFJobs in pipelines is not supported yet');
  });

  it('refuses an unknown reprocess_spec and accepts the two known ones', () => {
    valid(specText({ reprocess_spec: 'until_success' }));
    valid(specText({ reprocessSpec: 'every_job' }));
    assert.equal(invalid(specText({ reprocess_spec: 'always' })).message, "invalid pipeline spec: ReprocessSpec must be one of 'until_success' or 'every_job'");
  });

  it('refuses an invalid output branch name and negative datum tries', () => {
    assert.match(invalid(specText({ output_branch: 'a/b' })).message, /^invalid output branch: branch name \(a\/b\) invalid/);
    assert.equal(invalid(specText({ datum_tries: -1 })).message, 'datum_tries cannot be negative: -1');
  });

  it('refuses malformed pod spec and pod patch JSON text', () => {
    assert.equal(invalid(specText({ pod_spec: '{nope' })).message, 'malformed PodSpec');
    assert.equal(invalid(specText({ pod_patch: '[{' })).message, 'malformed PodPatch');
    valid(specText({ pod_patch: '[{"op": "add", "path": "/x", "value": 1}]' }));
  });

  it('refuses a negative timeout', () => {
    assert.equal(invalid(specText({ job_timeout: '-1m' })).message, 'job_timeout cannot be negative: -1m');
    valid(specText({ datum_timeout: '1.5s', job_timeout: '1h' }));
  });

  it('does not modify the spec it validates', () => {
    const p = parsed(specText({ input: { cross: [{ pfs: { repo: 'b', glob: '/' } }, { pfs: { repo: 'a', glob: '/' } }] } }));
    const before = structuredClone(p.spec);
    validateParsedSpec(p);
    assert.deepEqual(p.spec, before);
  });

  it('accepts a spec after defaults just as before', () => {
    const p = parsed(specText());
    const spec: PipelineSpec = applyDefaults(p.spec);
    validateSpec(spec);
    assert.equal(spec.transform?.image, 'ubuntu:20.04');
  });
});

describe('validateSpec: inputs', () => {
  it('refuses a pipeline with no input', () => {
    const err = invalid(JSON.stringify({ pipeline: { name: 'p' }, transform: {} }));
    assert.equal(err.message, 'no input set');
    assert.equal(err.details?.field, 'input');
  });

  it('refuses an empty input object', () => {
    assert.equal(invalid(specText({ input: {} })).message, 'no input set');
  });

  it('refuses a pfs input without repo, and one without glob, pointing at the input', () => {
    const noRepo = invalid('{"pipeline": {"name": "p"}, "transform": {},\n "input": {"pfs": {"glob": "/*"}}}');
    assert.equal(noRepo.message, 'input must specify a repo');
    assert.deepEqual(noRepo.details, { field: 'input.pfs.repo', file: 'spec.json', line: 2, column: 12 });
    const noGlob = invalid(specText({ input: { pfs: { repo: 'r' } } }));
    assert.equal(noGlob.message, 'input must specify a glob');
    assert.equal(noGlob.details?.field, 'input.pfs.glob');
  });

  it('refuses an input named out, whether by name or by repo', () => {
    const msg = 'input cannot be named "out", as pachyderm already creates /pfs/out to collect job output';
    assert.equal(invalid(specText({ input: { pfs: { repo: 'r', name: 'out', glob: '/' } } })).message, msg);
    assert.equal(invalid(specText({ input: { pfs: { repo: 'out', glob: '/' } } })).message, msg);
    valid(specText({ input: { pfs: { repo: 'out', name: 'o', glob: '/' } } }));
    assert.equal(invalid(specText({ input: { cron: { name: 'out', spec: '@hourly' } } })).message, msg);
  });

  it('refuses an input name that is not a single path element', () => {
    assert.match(invalid(specText({ input: { pfs: { repo: 'r', name: '../etc', glob: '/' } } })).message, /^input name "\.\.\/etc" is not a valid file name/);
  });

  it('refuses a pfs input pinned to a commit', () => {
    assert.equal(
      invalid(specText({ input: { pfs: { repo: 'r', glob: '/', commit: 'abc' } } })).message,
      'input cannot come from a commit; use a branch with head pointing to the commit',
    );
  });

  it('refuses an input name used twice in a cross, join or group', () => {
    for (const kind of ['cross', 'join', 'group']) {
      const err = invalid(specText({ input: { [kind]: [{ pfs: { repo: 'a', glob: '/' } }, { pfs: { repo: 'a', glob: '/*' } }] } }));
      assert.equal(err.message, 'name "a" was used more than once');
      assert.equal(err.details?.field, `input.${kind}[1].pfs`);
    }
  });

  it('allows the branches of a union to reuse a name, but not what the union is crossed with', () => {
    valid(specText({ input: { union: [{ pfs: { repo: 'a', glob: '/' } }, { pfs: { repo: 'a', glob: '/*' } }] } }));
    const err = invalid(
      specText({
        input: {
          cross: [{ union: [{ pfs: { repo: 'a', glob: '/' } }, { pfs: { repo: 'b', glob: '/' } }] }, { pfs: { repo: 'b', glob: '/' } }],
        },
      }),
    );
    assert.equal(err.message, 'name "b" was used more than once');
  });

  it('refuses an input that sets two input types', () => {
    const err = invalid(specText({ input: { pfs: { repo: 'r', glob: '/' }, cron: { name: 't', spec: '@hourly' } } }));
    assert.equal(err.message, 'multiple input types set');
  });

  it('checks s3 inputs as Pachyderm does', () => {
    valid(specText({ input: { pfs: { repo: 'r', s3: true, glob: '/' } } }));
    assert.match(invalid(specText({ input: { pfs: { repo: 'r', s3: true, glob: '/*' } } })).message, /^inputs that set 's3' to 'true' must also set 'glob', to "\/"/);
    assert.match(invalid(specText({ input: { pfs: { repo: 'r', s3: true, glob: '/', lazy: true } } })).message, /^input cannot specify both 's3' and 'lazy'/);
    assert.match(
      invalid(specText({ input: { pfs: { repo: 'r', s3: true, glob: '/', empty_files: true } } })).message,
      /^input cannot specify both 's3' and 'empty_files'/,
    );
    assert.equal(
      invalid(specText({ input: { join: [{ pfs: { repo: 'a', s3: true, glob: '/' } }, { pfs: { repo: 'b', glob: '/' } }] } })).message,
      'S3 inputs in join expressions are not supported',
    );
  });

  it('refuses a cron input without a name', () => {
    assert.equal(invalid(specText({ input: { cron: { spec: '@hourly' } } })).message, 'input must specify a name');
  });

  it('refuses an unparsable cron spec with the parser’s reason', () => {
    const err = invalid(specText({ input: { cron: { name: 't', spec: '* * *' } } }));
    assert.equal(err.message, 'error parsing cron-spec: expected exactly 5 fields, found 3: [* * *]');
    assert.equal(err.details?.field, 'input.cron.spec');
    assert.equal(
      invalid(specText({ input: { cron: { name: 't', spec: '@every soon' } } })).message,
      'error parsing cron-spec: failed to parse duration @every soon: time: invalid duration "soon"',
    );
    assert.equal(invalid(specText({ input: { cron: { name: 't', spec: '@fortnightly' } } })).message, 'error parsing cron-spec: unrecognized descriptor: @fortnightly');
    assert.match(invalid(specText({ input: { cron: { name: 't', spec: '0 25 * * *' } } })).message, /^error parsing cron-spec: /);
  });

  it('refuses git inputs as unsupported', () => {
    assert.match(invalid(specText({ input: { git: { name: 'g', url: 'https://x/y.git' } } })).message, /^git inputs are not supported by Sluice/);
  });
});

describe('validateSpec: parallelism and services', () => {
  it('refuses a negative coefficient and contradictory strategies', () => {
    assert.equal(invalid(specText({ parallelism_spec: { coefficient: -1 } })).message, 'ParallelismSpec.Coefficient cannot be negative');
    assert.equal(
      invalid(specText({ parallelism_spec: { constant: 2, coefficient: 0.5 } })).message,
      'contradictory parallelism strategies: must set at most one of ParallelismSpec.Constant and ParallelismSpec.Coefficient',
    );
    valid(specText({ parallelism_spec: { coefficient: 0.5 } }));
  });

  it('runs services with a constant parallelism of 1 only', () => {
    valid(specText({ service: { internal_port: 8888, external_port: 30888 } }));
    assert.equal(
      invalid(specText({ service: { internal_port: 8888 }, parallelism_spec: { constant: 2 } })).message,
      'services can only be run with a constant parallelism of 1',
    );
  });

  it('refuses a service type Kubernetes does not have', () => {
    assert.equal(invalid(specText({ service: { type: 'Magic' } })).message, 'the following service type Magic is not allowed');
    valid(specText({ service: { type: 'ClusterIP' } }));
  });

  it('refuses an egress with two targets', () => {
    assert.equal(invalid(specText({ egress: { object_storage: {}, sql_database: {} } })).message, 'egress can set only one of object_storage and sql_database');
  });
});

describe('validateSpec: spouts', () => {
  it('accepts a spout without an input', () => {
    valid(spoutText());
    valid(spoutText({ spout: { overwrite: true, marker: 'mymark' } }));
  });

  it('refuses a spout (without a service) that has an input', () => {
    const err = invalid(spoutText({ input: { pfs: { repo: 'r', glob: '/' } } }));
    assert.equal(err.message, 'spout pipelines (without a service) must not have an input');
    assert.equal(err.details?.field, 'input');
  });

  it('accepts a spout with a service and an input', () => {
    valid(spoutText({ spout: { service: { internal_port: 8000, external_port: 31800 } }, input: { pfs: { repo: 'r', glob: '/' } } }));
  });

  it('refuses a spout and a top-level service together', () => {
    assert.equal(invalid(spoutText({ service: { internal_port: 1 } })).message, 'only one of pipeline.service or pipeline.spout can be set');
  });

  it('refuses autoscaling, s3_out and stats with a spout', () => {
    assert.equal(invalid(spoutText({ autoscaling: true })).message, "autoscaling can't be used with spouts (spouts aren't triggered externally)");
    assert.equal(invalid(spoutText({ s3_out: true })).message, 's3 output is not supported in spouts or services');
    assert.equal(invalid(spoutText({ enable_stats: true })).message, 'spouts are not allowed to have a stats branch');
  });

  it('refuses a build step with a spout', () => {
    assert.equal(invalid(spoutText({ transform: { build: { language: 'go' } } })).message, 'build step-enabled pipelines do not work with spouts');
  });

  it('refuses a marker that is not a valid file name, with Pachyderm’s message', () => {
    for (const marker of ['$$$*', 'out', 'a?b', 'mark\u00e9', '../up', 'out/x', '/']) {
      const err = invalid(spoutText({ spout: { marker } }));
      assert.equal(err.message, `the spout marker name must be a valid filename: ${marker}`);
      assert.equal(err.details?.field, 'spout.marker');
    }
  });

  it('accepts markers that are valid file names', () => {
    for (const m of ['mymark', 'offset', 'dir/file', 'with space', 'a.b-c_d']) assert.ok(isValidMarker(m), m);
  });
});

describe('parseCronSpec', () => {
  it('reads @every durations, at least one second', () => {
    assert.deepEqual(parseCronSpec('@every 10s'), { kind: 'every', everyMs: 10_000 });
    assert.deepEqual(parseCronSpec('@every 1m30s'), { kind: 'every', everyMs: 90_000 });
    assert.deepEqual(parseCronSpec('@every 1500ms'), { kind: 'every', everyMs: 1000 });
    assert.deepEqual(parseCronSpec('@every 0s'), { kind: 'every', everyMs: 1000 });
  });

  it('expands the macros into five fields', () => {
    assert.deepEqual(parseCronSpec('@hourly'), { kind: 'cron', expression: '0 * * * *' });
    assert.deepEqual(parseCronSpec('@daily'), { kind: 'cron', expression: '0 0 * * *' });
    assert.deepEqual(parseCronSpec('@midnight'), { kind: 'cron', expression: '0 0 * * *' });
    assert.deepEqual(parseCronSpec('@weekly'), { kind: 'cron', expression: '0 0 * * 0' });
    assert.deepEqual(parseCronSpec('@monthly'), { kind: 'cron', expression: '0 0 1 * *' });
    assert.deepEqual(parseCronSpec('@yearly'), { kind: 'cron', expression: '0 0 1 1 *' });
    assert.deepEqual(parseCronSpec('@annually'), { kind: 'cron', expression: '0 0 1 1 *' });
  });

  it('accepts standard five-field expressions with names, ranges and steps', () => {
    for (const s of ['*/5 * * * *', '0 9-17 * * MON-FRI', '15 4 1 jan,jul ?', '0 0 * * 0', '30 2 */2 * sun']) {
      assert.deepEqual(parseCronSpec(s), { kind: 'cron', expression: s }, s);
    }
  });

  it('accepts a time zone prefix and refuses an unknown zone', () => {
    assert.deepEqual(parseCronSpec('TZ=Europe/Paris 0 9 * * *'), { kind: 'cron', expression: '0 9 * * *', timeZone: 'Europe/Paris' });
    assert.deepEqual(parseCronSpec('CRON_TZ=UTC @daily'), { kind: 'cron', expression: '0 0 * * *', timeZone: 'UTC' });
    assert.deepEqual(parseCronSpec('TZ=Mars/Base 0 9 * * *'), { error: 'provided bad location Mars/Base: unknown time zone Mars/Base' });
  });

  it('refuses six fields, Quartz extensions and out-of-range values', () => {
    assert.deepEqual(parseCronSpec('0 * * * * *'), { error: 'expected exactly 5 fields, found 6: [0 * * * * *]' });
    assert.ok('error' in parseCronSpec('0 0 L * *'));
    assert.ok('error' in parseCronSpec('0 0 * * 5#3'));
    assert.ok('error' in parseCronSpec('60 * * * *'));
    assert.deepEqual(parseCronSpec(''), { error: 'empty spec string' });
  });
});

describe('validateSpec: join and group inputs', () => {
  it('accepts joins and groups with capture-group globs, and an empty join_on or group_by', () => {
    const join = { join: [{ pfs: { repo: 'a', glob: '/(*).txt', join_on: '$1', outer_join: true } }, { pfs: { repo: 'b', glob: '/*', lazy: true } }] };
    const group = { group: [{ pfs: { repo: 'c', glob: '/*-(*)', group_by: '$1', empty_files: true } }] };
    for (const input of [join, group, { cross: [join, group] }]) {
      for (const p of parseSpecs(specText({ input }))) validateParsedSpec({ ...p, spec: applyDefaults(p.spec) });
    }
  });

  it('refuses a glob that does not compile, pointing at it', () => {
    const err = invalid(specText({ input: { join: [{ pfs: { repo: 'a', glob: '/(*.txt', join_on: '$1' } }, { pfs: { repo: 'b', glob: '/*' } }] } }));
    assert.match(err.message, /^invalid glob pattern "\/\(\*\.txt": "\(" is not closed by "\)"$/);
    assert.equal(err.details?.field, 'input.join[0].pfs.glob');
  });
});
