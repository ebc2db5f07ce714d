/**
 * Keeps the compatibility corpus true: every file under `../shared/pachyderm-specs` (from the
 * project root) either parses and validates, or is refused exactly as corpus-expectations.ts
 * says. Also checks the spec snippets printed in the seeds (test/fixtures/seed-specs).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSluiceError } from '../../errors/index.js';
import { CORPUS_EXPECTATIONS } from './corpus-expectations.js';
import { applyDefaults } from './defaults.js';
import { inputShorthand } from './input-shorthand.js';
import { parseSpecs } from './parse.js';
import type { ParsedSpec } from './types.js';
import { validateParsedSpec } from './validate.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The first candidate directory that exists: from the working directory, then from this file. */
function locate(fromRoot: string, fromHere: string): string | undefined {
  return [resolve(process.cwd(), fromRoot), resolve(here, fromHere)].find((d) => existsSync(d) && statSync(d).isDirectory());
}

// This file runs from dist/src/pps/spec/ (compiled) or src/pps/spec/: both are four levels
// below the project root.
const CORPUS = locate('../shared/pachyderm-specs', '../../../../../shared/pachyderm-specs');
const SEEDS = locate('test/fixtures/seed-specs', '../../../../test/fixtures/seed-specs');

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

function relPath(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}

function parseAndValidate(text: string, file: string): ParsedSpec[] {
  const specs = parseSpecs(text, { file });
  for (const s of specs) validateParsedSpec(s);
  return specs;
}

// The corpus is Pachyderm's example specs, kept beside the project (../shared), not in it. CI
// (CI=true or REQUIRE_SERVICES=1, as .ci/run sets) has it and must run it; a clone without it
// skips these tests, saying so, rather than failing.
const MUST_HAVE_CORPUS = process.env.CI === 'true' || process.env.REQUIRE_SERVICES === '1';

describe('the compatibility corpus', () => {
  const missing = `the compatibility corpus was not found: looked for ../shared/pachyderm-specs from ${process.cwd()} and from ${here}`;
  it('is present', (t) => {
    if (CORPUS === undefined && !MUST_HAVE_CORPUS) {
      t.skip(`${missing}; its tests are skipped (put the shared folder beside the project to run them; CI=true makes its absence a failure)`);
      return;
    }
    assert.ok(CORPUS !== undefined, missing);
  });
  if (CORPUS === undefined) return;

  const files = walk(CORPUS).map((f) => relPath(CORPUS, f));

  it('has an expectation for every file and a file for every expectation', () => {
    assert.deepEqual(
      files.filter((f) => CORPUS_EXPECTATIONS[f] === undefined),
      [],
      'files without an entry in corpus-expectations.ts',
    );
    assert.deepEqual(
      Object.keys(CORPUS_EXPECTATIONS).filter((f) => !files.includes(f)),
      [],
      'entries in corpus-expectations.ts that name no file',
    );
  });

  for (const file of files) {
    const expected = CORPUS_EXPECTATIONS[file];
    if (expected === undefined) continue;
    const text = readFileSync(join(CORPUS, file), 'utf8');
    if (expected.outcome === 'ok') {
      it(`accepts ${file} (${expected.pipelines.join(', ')})`, () => {
        const specs = parseAndValidate(text, file);
        assert.deepEqual(
          specs.map((s) => s.spec.pipeline?.name),
          expected.pipelines,
        );
        assert.deepEqual(
          specs.flatMap((s) => s.warnings),
          [],
        );
        for (const s of specs) {
          // Defaults keep a valid spec valid, and every spec has a shorthand.
          const stored = applyDefaults(s.spec);
          validateParsedSpec({ ...s, spec: stored });
          assert.notEqual(inputShorthand(stored.input), '');
        }
      });
    } else {
      it(`refuses ${file}: ${expected.message}`, () => {
        assert.throws(
          () => parseAndValidate(text, file),
          (err: unknown) => {
            assert.ok(isSluiceError(err), `expected a SluiceError, got ${String(err)}`);
            assert.equal(err.code, expected.code);
            assert.ok(err.message.includes(expected.message), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(expected.message)}`);
            assert.equal(err.details?.file, file);
            assert.equal(err.details?.line, expected.line);
            assert.equal(err.details?.column, expected.column);
            return true;
          },
        );
      });
    }
  }

  it('reads every single-object JSON file exactly as JSON.parse does', () => {
    let compared = 0;
    for (const file of files) {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue; // several documents, YAML, or malformed: covered above
      }
      const [first] = parseSpecs(text, { file });
      assert.deepEqual(first?.raw, value, file);
      compared++;
    }
    assert.ok(compared > 100, `only ${compared} files compared`);
  });
});

describe('the spec snippets printed in the seeds', () => {
  it('are present', () => {
    assert.ok(SEEDS !== undefined, `test/fixtures/seed-specs was not found from ${process.cwd()} or ${here}`);
  });
  if (SEEDS === undefined) return;
  const read = (name: string): string => readFileSync(join(SEEDS, name), 'utf8');

  it('refuses seed 000’s minimal spout spec at the missing comma (line 8, column 5)', () => {
    const file = 'seed-000-minimal-spout.json';
    assert.throws(
      () => parseSpecs(read(file), { file }),
      (err: unknown) =>
        isSluiceError(err, 'PPS_SPEC_SYNTAX') &&
        err.message === `malformed pipeline spec: ${file}:8:5: expected ',' or '}' after property value, found '"' (a missing comma?)` &&
        err.details?.line === 8 &&
        err.details.column === 5,
    );
  });

  it('refuses seed 000’s spec at its trailing comma (line 12, column 6) once the comma is added', () => {
    const file = 'seed-000-minimal-spout.json';
    const fixed = read(file).replace('"myaccount/myimage:0.1"\n', '"myaccount/myimage:0.1",\n');
    assert.throws(
      () => parseSpecs(fixed, { file }),
      (err: unknown) => isSluiceError(err, 'PPS_SPEC_SYNTAX') && err.message === `malformed pipeline spec: ${file}:12:6: trailing comma before '}' (JSON allows none)`,
    );
  });

  it('refuses seed 004’s put-file spout spec at the missing colon (line 8, column 13)', () => {
    const file = 'seed-004-put-file-spout.json';
    assert.throws(
      () => parseSpecs(read(file), { file }),
      (err: unknown) =>
        isSluiceError(err, 'PPS_SPEC_SYNTAX') &&
        err.message === `malformed pipeline spec: ${file}:8:13: expected ':' after property name "stdin", found '['` &&
        err.details?.line === 8 &&
        err.details.column === 13,
    );
  });

  it('accepts seed 001’s Kafka spout spec, moving its top-level env into the transform with a warning', () => {
    const file = 'seed-001-kafka-spout.json';
    const [p, ...rest] = parseAndValidate(read(file), file);
    assert.equal(rest.length, 0);
    assert.ok(p !== undefined);
    assert.equal(p.spec.pipeline?.name, 'my-spout');
    assert.deepEqual(p.spec.spout, { overwrite: false, marker: '' });
    assert.deepEqual(p.spec.transform?.env, { HOST: 'kafkahost', TOPIC: 'mytopic', PORT: '9092' });
    assert.deepEqual(p.warnings, [
      `${file}:9:3: field "env" belongs under "transform"; applied to transform.env`,
      `${file}:14:3: "spout": true is read as "spout": {} (a spout is declared with an object)`,
    ]);
    assert.equal(inputShorthand(applyDefaults(p.spec).input), 'none');
  });

  it('accepts seed 003’s spout marker spec', () => {
    const file = 'seed-003-spout-marker.json';
    const [p] = parseAndValidate(read(file), file);
    assert.ok(p !== undefined);
    assert.equal(p.spec.pipeline?.name, 'spoutmarker');
    assert.deepEqual(p.spec.spout, { overwrite: false, marker: 'mymark' });
    assert.equal(p.spec.transform?.image, 'spout-marker:v1');
    assert.deepEqual(p.warnings, []);
  });
});
