import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults, cleanGlob } from './defaults.js';
import { parseSpecs } from './parse.js';
import type { PipelineSpec } from './types.js';

function spec(text: string): PipelineSpec {
  const [p] = parseSpecs(text);
  assert.ok(p !== undefined);
  return p.spec;
}

describe('applyDefaults', () => {
  it('fills the image, branches, names, tries, reprocess spec and parallelism as Pachyderm does', () => {
    const out = applyDefaults(spec('{"pipeline": {"name": "edges"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "images", "glob": "/*"}}}'));
    assert.equal(out.transform?.image, 'ubuntu:20.04');
    assert.deepEqual(
      { name: out.input?.pfs?.name, branch: out.input?.pfs?.branch, glob: out.input?.pfs?.glob },
      { name: 'images', branch: 'master', glob: '/*' },
    );
    assert.equal(out.outputBranch, 'master');
    assert.equal(out.datumTries, 3);
    assert.equal(out.reprocessSpec, 'until_success');
    assert.deepEqual(out.parallelismSpec, { constant: 1, coefficient: 0 });
  });

  it('keeps values that are set', () => {
    const out = applyDefaults(
      spec(
        '{"pipeline": {"name": "p"}, "transform": {"image": "alpine:3"}, "output_branch": "dev", "datum_tries": 7, "parallelism_spec": {"constant": 4}, "input": {"pfs": {"repo": "r", "name": "n", "branch": "b", "glob": "/"}}}',
      ),
    );
    assert.equal(out.transform?.image, 'alpine:3');
    assert.equal(out.outputBranch, 'dev');
    assert.equal(out.datumTries, 7);
    assert.equal(out.parallelismSpec?.constant, 4);
    assert.deepEqual([out.input?.pfs?.name, out.input?.pfs?.branch], ['n', 'b']);
  });

  it('names a cron input’s repo after the pipeline and starts it at the given time', () => {
    const now = new Date('2024-05-06T07:08:09.000Z');
    const out = applyDefaults(spec('{"pipeline": {"name": "query"}, "input": {"cron": {"name": "tick", "spec": "@every 10s"}}}'), { now });
    assert.equal(out.input?.cron?.repo, 'query_tick');
    assert.equal(out.input?.cron?.start, '2024-05-06T07:08:09.000Z');
    const noNow = applyDefaults(spec('{"pipeline": {"name": "query"}, "input": {"cron": {"name": "tick", "spec": "@every 10s"}}}'));
    assert.equal(noNow.input?.cron?.start, '');
  });

  it('gives triggered inputs their own branch', () => {
    const out = applyDefaults(
      spec('{"pipeline": {"name": "p"}, "input": {"cross": [{"pfs": {"repo": "r", "name": "a", "glob": "/", "trigger": {"size": "1M"}}}, {"pfs": {"repo": "r", "name": "b", "glob": "/", "trigger": {}}}]}}'),
    );
    assert.deepEqual(
      out.input?.cross?.map((i) => [i.pfs?.branch, i.pfs?.trigger?.branch]),
      [
        ['p-trigger-1', 'master'],
        ['p-trigger-2', 'master'],
      ],
    );
  });

  it('sorts composite inputs by name before names are defaulted, as Pachyderm does', () => {
    const named = applyDefaults(spec('{"input": {"cross": [{"pfs": {"repo": "r", "name": "zeta", "glob": "/"}}, {"pfs": {"repo": "r", "name": "alpha", "glob": "/"}}]}}'));
    assert.deepEqual(named.input?.cross?.map((i) => i.pfs?.name), ['alpha', 'zeta']);
    // Unnamed inputs all sort as "", so they keep the order they were written in.
    const unnamed = applyDefaults(spec('{"input": {"cross": [{"pfs": {"repo": "zeta", "glob": "/"}}, {"pfs": {"repo": "alpha", "glob": "/"}}]}}'));
    assert.deepEqual(unnamed.input?.cross?.map((i) => i.pfs?.name), ['zeta', 'alpha']);
  });

  it('defaults service types to NodePort', () => {
    const out = applyDefaults(spec('{"service": {"internal_port": 1}}'));
    assert.equal(out.service?.type, 'NodePort');
    const sp = applyDefaults(spec('{"spout": {"service": {"internal_port": 1}}}'));
    assert.equal(sp.spout?.service?.type, 'NodePort');
  });

  it('leaves a 1.x coefficient alone', () => {
    assert.deepEqual(applyDefaults(spec('{"parallelism_spec": {"coefficient": 0.5}}')).parallelismSpec, { constant: 0, coefficient: 0.5 });
  });

  it('returns a new spec, is idempotent and leaves its argument untouched', () => {
    const s = spec('{"pipeline": {"name": "p"}, "transform": {}, "input": {"pfs": {"repo": "r", "glob": "x"}}}');
    const before = structuredClone(s);
    const once = applyDefaults(s);
    assert.deepEqual(s, before);
    assert.notEqual(once, s);
    assert.deepEqual(applyDefaults(once), once);
  });
});

describe('cleanGlob', () => {
  it('makes globs absolute and drops empty and dot segments', () => {
    assert.equal(cleanGlob('urls/*'), '/urls/*');
    assert.equal(cleanGlob('/'), '/');
    assert.equal(cleanGlob('/a//b/'), '/a/b');
    assert.equal(cleanGlob('./*'), '/*');
    assert.equal(cleanGlob('/*-CLIA(*).txt'), '/*-CLIA(*).txt');
  });
});
