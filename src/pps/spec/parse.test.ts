import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SluiceError, isSluiceError } from '../../errors/index.js';
import { parseSpecValue, parseSpecs } from './parse.js';
import type { ParsedSpec } from './types.js';

/** Runs `f`, expecting a PPS_SPEC_SYNTAX error; returns it. */
function syntaxError(f: () => unknown): SluiceError {
  try {
    f();
  } catch (err) {
    assert.ok(isSluiceError(err, 'PPS_SPEC_SYNTAX'), `expected PPS_SPEC_SYNTAX, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a PPS_SPEC_SYNTAX error');
}

function one(text: string, file?: string): ParsedSpec {
  const specs = parseSpecs(text, file === undefined ? {} : { file });
  assert.equal(specs.length, 1);
  const [only] = specs;
  assert.ok(only !== undefined);
  return only;
}

const MINIMAL = '{"pipeline": {"name": "p"}, "transform": {"cmd": ["sh"]}, "input": {"pfs": {"repo": "r", "glob": "/*"}}}';

describe('parseSpecs: documents', () => {
  it('reads one JSON object', () => {
    const p = one(MINIMAL, 'p.json');
    assert.equal(p.spec.pipeline?.name, 'p');
    assert.deepEqual(p.spec.transform?.cmd, ['sh']);
    assert.equal(p.spec.input?.pfs?.repo, 'r');
    assert.deepEqual(p.source, { file: 'p.json', index: 0, line: 1 });
    assert.deepEqual(p.warnings, []);
  });

  it('reads several concatenated JSON objects and records where each starts', () => {
    const text = `${MINIMAL}\n\n  {"pipeline": {"name": "q"}, "transform": {}, "input": {"pfs": {"repo": "p", "glob": "/"}}}{"pipeline":{"name":"r"}}\n`;
    const specs = parseSpecs(text);
    assert.deepEqual(
      specs.map((s) => [s.spec.pipeline?.name, s.source.index, s.source.line]),
      [
        ['p', 0, 1],
        ['q', 1, 3],
        ['r', 2, 3],
      ],
    );
  });

  it('reads JSON documents separated by --- lines', () => {
    const text = `${MINIMAL}\n---\n{"pipeline": {"name": "q"}}\n---\n`;
    assert.deepEqual(
      parseSpecs(text).map((s) => [s.spec.pipeline?.name, s.source.line]),
      [
        ['p', 1],
        ['q', 3],
      ],
    );
  });

  it('reads YAML, several documents, and YAML after JSON in one file', () => {
    const text = [
      MINIMAL,
      '---',
      '# a comment',
      'pipeline:',
      '  name: y1',
      'transform:',
      '  cmd: [ /app/run.py, --flag=x ]',
      '---',
      'pipeline: {name: y2}',
      '',
    ].join('\n');
    const specs = parseSpecs(text, { file: 'mixed.yaml' });
    assert.deepEqual(
      specs.map((s) => [s.spec.pipeline?.name, s.source.index, s.source.line]),
      [
        ['p', 0, 1],
        ['y1', 1, 4],
        ['y2', 2, 9],
      ],
    );
    assert.deepEqual(specs[1]?.spec.transform?.cmd, ['/app/run.py', '--flag=x']);
  });

  it('reads YAML scalars as YAML 1.2 does (yes is a string, numbers are numbers)', () => {
    const p = one('pipeline:\n  name: p\ndescription: yes\nparallelism_spec:\n  constant: 3\nresource_limits:\n  cpu: 0.5\n  memory: 1G\n');
    assert.equal(p.spec.description, 'yes');
    assert.equal(p.spec.parallelismSpec?.constant, 3);
    assert.deepEqual(p.spec.resourceLimits, { cpu: 0.5, memory: '1G', disk: '' });
  });

  it('resolves YAML anchors and aliases', () => {
    const p = one('pipeline: {name: p}\ntransform:\n  env: &e {A: "1"}\n  cmd: [sh]\nmetadata:\n  labels: *e\n');
    assert.deepEqual(p.spec.metadata?.labels, { A: '1' });
  });

  it('ignores a byte-order mark and keeps columns as editors show them', () => {
    const err = syntaxError(() => parseSpecs('\uFEFF{"a" 1}', { file: 'bom.json' }));
    assert.match(err.message, /bom\.json:1:6: expected ':'/);
  });

  it('refuses an input with no spec in it', () => {
    const err = syntaxError(() => parseSpecs('  \n# nothing\n', { file: 'e.yaml' }));
    assert.equal(err.message, 'malformed pipeline spec: e.yaml:1:1: no pipeline spec found (only whitespace, comments or document markers)');
  });

  it('refuses a document that is not an object', () => {
    const err = syntaxError(() => parseSpecs('[1, 2]', { file: 'a.json' }));
    assert.equal(err.message, 'malformed pipeline spec: a.json:1:1: a pipeline spec must be an object, got an array');
    const err2 = syntaxError(() => parseSpecs('just words\n', { file: 'a.txt' }));
    assert.match(err2.message, /a\.txt:1:1: a pipeline spec must be an object, got a string \("just words"\)/);
  });

  it('names the input <input> when no file is given', () => {
    const err = syntaxError(() => parseSpecs('{"a":}'));
    assert.equal(err.message, "malformed pipeline spec: <input>:1:6: expected a value, found '}'");
    assert.deepEqual(err.details, { line: 1, column: 6 });
  });

  it('keeps the document as written in raw', () => {
    const p = one('{"pipeline": {"name": "p"}, "parallelismSpec": {"constant": "2"}}');
    assert.deepEqual(p.raw, { pipeline: { name: 'p' }, parallelismSpec: { constant: '2' } });
    assert.equal(p.spec.parallelismSpec?.constant, 2);
  });
});

describe('parseSpecs: JSON syntax errors', () => {
  const cases: { name: string; text: string; at: string; what: string }[] = [
    { name: 'a missing comma between members', text: '{\n  "a": "x"\n  "b": 1\n}', at: '3:3', what: `expected ',' or '}' after property value, found '"' (a missing comma?)` },
    { name: 'a missing colon', text: '{\n  "stdin" [1]\n}', at: '2:11', what: `expected ':' after property name "stdin", found '['` },
    { name: 'a missing comma between array elements', text: '{"cmd": ["a"\n "b"]}', at: '2:2', what: `expected ',' or ']' after array element, found '"' (a missing comma?)` },
    { name: 'a trailing comma in an object', text: '{"a": 1,\n}', at: '1:8', what: "trailing comma before '}' (JSON allows none)" },
    { name: 'a trailing comma in an array', text: '{"a": [1, ]}', at: '1:9', what: "trailing comma before ']' (JSON allows none)" },
    { name: 'an unquoted key', text: '{pipeline: 1}', at: '1:2', what: "expected a double-quoted property name, found 'p'" },
    { name: 'a single-quoted string', text: `{"a": 'x'}`, at: '1:7', what: `strings must use double quotes ("), found '` },
    { name: 'an unterminated string', text: '{"a": "xyz\n}', at: '1:7', what: 'unterminated string (a line break before the closing ")' },
    { name: 'a raw tab inside a string', text: '{"a": "x\ty"}', at: '1:9', what: 'control character U+0009 must be escaped inside a string' },
    { name: 'a bad escape', text: '{"a": "\\q"}', at: '1:8', what: 'bad escape \\q in string' },
    { name: 'a number with a leading zero', text: '{"a": 01}', at: '1:7', what: 'numbers cannot have leading zeros' },
    { name: 'a misspelled literal', text: '{"a": tru}', at: '1:7', what: 'expected a value, found "tru" (did you mean true?)' },
    { name: 'an object left open at the end', text: '{"a": {\n"b": 1\n', at: '3:1', what: "unexpected end of input: '{' opened at 1:7 is never closed with '}'" },
    { name: 'text after a complete spec', text: '{"pipeline": {"name": "p"}}\nfoo', at: '2:1', what: "expected '{' to begin another pipeline spec or the end of the input, found 'f'" },
    { name: 'a duplicate key', text: '{"a": 1,\n "a": 2}', at: '2:2', what: 'duplicate field "a"' },
  ];
  for (const c of cases) {
    it(`reports ${c.name} at its line and column`, () => {
      const err = syntaxError(() => parseSpecs(c.text, { file: 'x.json' }));
      assert.equal(err.message, `malformed pipeline spec: x.json:${c.at}: ${c.what}`);
      const [line, column] = c.at.split(':').map(Number);
      assert.equal(err.details?.line, line);
      assert.equal(err.details?.column, column);
      assert.equal(err.details?.file, 'x.json');
    });
  }

  it('accepts every escape JSON allows', () => {
    const p = one('{"description": "q\\"b\\\\s\\/b\\bf\\fn\\nr\\rt\\tu\\u00e9\\ud83d\\ude00"}');
    assert.equal(p.spec.description, 'q"b\\s/b\bf\fn\nr\rt\tué😀');
  });
});

describe('parseSpecs: YAML syntax errors', () => {
  it('reports a YAML fault at its line and column', () => {
    const err = syntaxError(() => parseSpecs('pipeline:\n  name: p\ntransform:\n  cmd: [a, b\n  image: x\n', { file: 'y.yaml' }));
    assert.match(err.message, /^malformed pipeline spec: y\.yaml:\d+:\d+: YAML: /);
  });

  it('refuses duplicate keys in YAML', () => {
    const err = syntaxError(() => parseSpecs('pipeline: {name: p}\ndescription: a\ndescription: b\n', { file: 'd.yaml' }));
    assert.match(err.message, /^malformed pipeline spec: d\.yaml:3:1: YAML: Map keys must be unique/);
  });

  it('counts lines from the start of the file in later documents', () => {
    const err = syntaxError(() => parseSpecs('pipeline: {name: a}\n---\npipeline: {name: b}\nbogus: 1\n', { file: 'm.yaml' }));
    assert.equal(err.message, 'malformed pipeline spec: m.yaml:4:1: unknown field "bogus" in the pipeline spec');
    assert.equal(err.details?.document, 1);
  });
});

describe('parseSpecs: field names and values', () => {
  const snake = `{
    "pipeline": {"name": "p", "project": {"name": "proj"}},
    "transform": {"image": "i", "cmd": ["c"], "err_cmd": ["e"], "env": {"A": "1"},
      "secrets": [{"name": "s", "key": "k", "mount_path": "/m", "env_var": "V"}],
      "image_pull_secrets": ["ps"], "stdin": ["x"], "err_stdin": ["y"], "accept_return_code": [1, "2"],
      "debug": true, "user": "u", "working_dir": "/w", "dockerfile": "D", "memory_volume": true, "datum_batching": true},
    "input": {"cross": [
      {"pfs": {"name": "n", "project": "pr", "repo": "r", "repo_type": "user", "branch": "b", "glob": "/*",
        "join_on": "$1", "outer_join": true, "group_by": "$2", "lazy": true, "empty_files": true, "s3": false,
        "trigger": {"branch": "tb", "all": true, "rate_limit_spec": "@hourly", "size": "1M", "commits": "3"}}},
      {"cron": {"name": "tick", "spec": "@every 1m", "overwrite": true, "start": "2024-01-02T03:04:05Z"}}]},
    "parallelism_spec": {"constant": "4"},
    "output_branch": "out_b",
    "egress": {"URL": "s3://b/p"},
    "resource_requests": {"cpu": 0.5, "memory": "1G", "gpu": {"type": "nvidia.com/gpu", "number": "1"}, "disk": "2G"},
    "sidecar_resource_limits": {"cpu": "1.5"},
    "datum_set_spec": {"number": 2, "size_bytes": "1024", "per_worker": 1},
    "datum_timeout": "1m30s", "job_timeout": "2h", "datum_tries": "5", "salt": "s",
    "scheduling_spec": {"node_selector": {"disk": "ssd"}, "priority_class_name": "high"},
    "pod_patch": "[]", "metadata": {"annotations": {"a": "b"}, "labels": {"c": "d"}},
    "reprocess_spec": "every_job", "autoscaling": true, "s3_out": false,
    "tolerations": [{"key": "k", "operator": "EXISTS"}]
  }`;
  const camel = snake
    .replace(/"([a-z0-9]+(?:_[a-z0-9]+)+)":/g, (_m, k: string) => `"${k.replace(/_([a-z0-9])/g, (_n, c: string) => c.toUpperCase())}":`);

  it('reads snake_case and lowerCamelCase spellings into the same spec at every level', () => {
    assert.notEqual(snake, camel);
    assert.match(camel, /"mountPath"/);
    const a = one(snake).spec;
    const b = one(camel).spec;
    assert.deepEqual(a, b);
    assert.equal(a.transform?.secrets[0]?.envVar, 'V');
    assert.deepEqual(a.transform?.acceptReturnCode, [1, 2]);
    assert.equal(a.input?.cross?.[0]?.pfs?.trigger?.commits, 3);
    assert.equal(a.parallelismSpec?.constant, 4);
    assert.equal(a.resourceRequests?.gpu?.number, 1);
    assert.equal(a.sidecarResourceLimits?.cpu, 1.5);
    assert.equal(a.datumSetSpec?.sizeBytes, 1024);
    assert.equal(a.datumTries, 5);
    assert.equal(a.egress?.url, 's3://b/p');
    assert.equal(a.input?.cross?.[1]?.cron?.start, '2024-01-02T03:04:05Z');
    assert.deepEqual(a.tolerations, [{ key: 'k', operator: 'EXISTS' }]);
  });

  it('fills absent scalar fields with their zero values and leaves absent messages unset', () => {
    const s = one('{"pipeline": {"name": "p"}, "transform": {}}').spec;
    assert.equal(s.transform?.image, '');
    assert.deepEqual(s.transform?.cmd, []);
    assert.deepEqual(s.transform?.env, {});
    assert.equal(s.outputBranch, '');
    assert.equal(s.datumTries, 0);
    assert.equal(s.spout, undefined);
    assert.equal(s.input, undefined);
    assert.equal(s.parallelismSpec, undefined);
  });

  it('reads null as not set', () => {
    const s = one('{"pipeline": {"name": "p"}, "transform": null, "description": null, "input": {"pfs": {"repo": "r", "glob": null}}}').spec;
    assert.equal(s.transform, undefined);
    assert.equal(s.description, '');
    assert.equal(s.input?.pfs?.glob, '');
  });

  it('accepts 64-bit integers written as strings, up to the largest exact integer', () => {
    assert.equal(one('{"datum_tries": "9007199254740991"}').spec.datumTries, 9007199254740991);
    const err = syntaxError(() => parseSpecs('{"datum_tries": "9007199254740993"}', { file: 'i.json' }));
    assert.equal(err.message, 'malformed pipeline spec: i.json:1:17: datum_tries: a string ("9007199254740993") is out of range (at most 9007199254740991)');
  });

  it('refuses a fractional or negative value where a count is expected', () => {
    assert.match(syntaxError(() => parseSpecs('{"datum_tries": 1.5}')).message, /datum_tries: expected an integer, got a number \(1\.5\)/);
    assert.match(
      syntaxError(() => parseSpecs('{"parallelism_spec": {"constant": -1}}')).message,
      /parallelism_spec\.constant: expected a non-negative integer, got a number \(-1\)/,
    );
  });

  it('refuses a wrong type with what was expected and what was found', () => {
    const err = syntaxError(() => parseSpecs('{\n "transform": {\n  "cmd": "python main.py"\n }\n}', { file: 't.json' }));
    assert.equal(err.message, 'malformed pipeline spec: t.json:3:10: transform.cmd: expected an array of strings, got a string ("python main.py")');
    assert.equal(err.details?.field, 'transform.cmd');
  });

  it('names the list element that has the wrong type', () => {
    const err = syntaxError(() => parseSpecs('{"transform": {"cmd": ["sh", 1]}}', { file: 'l.json' }));
    assert.equal(err.message, 'malformed pipeline spec: l.json:1:30: transform.cmd[1]: expected a string, got a number (1)');
    assert.equal(err.details?.field, 'transform.cmd[1]');
    const inputs = syntaxError(() => parseSpecs('{"input": {"cross": [{"pfs": {}}, "b"]}}'));
    assert.match(inputs.message, /input\.cross\[1\]: expected an object, got a string \("b"\)$/);
  });

  it('refuses a spout that is neither an object nor a boolean', () => {
    assert.match(syntaxError(() => parseSpecs('{"spout": "yes"}')).message, /: spout: expected an object, got a string \("yes"\)$/);
  });

  it('refuses an env value that is not a string, and says to quote it', () => {
    const err = syntaxError(() => parseSpecs('transform:\n  env:\n    PORT: 9092\n', { file: 'e.yaml' }));
    assert.equal(err.message, 'malformed pipeline spec: e.yaml:3:11: transform.env.PORT: expected a string (quote it), got a number (9092)');
  });

  it('refuses a bad duration and a bad timestamp', () => {
    assert.match(syntaxError(() => parseSpecs('{"datum_timeout": "10 minutes"}')).message, /datum_timeout: bad Duration: time: invalid duration "10 minutes"/);
    assert.match(
      syntaxError(() => parseSpecs('{"input": {"cron": {"name": "t", "spec": "@hourly", "start": "yesterday"}}}')).message,
      /input\.cron\.start: expected an RFC 3339 timestamp/,
    );
  });

  it('refuses an unknown field, naming it, where it is, and the likely intended field', () => {
    const err = syntaxError(() => parseSpecs('{\n  "pipeline": {"name": "p"},\n  "spout": {"overwite": true}\n}', { file: 's.json' }));
    assert.equal(err.message, 'malformed pipeline spec: s.json:3:13: unknown field "overwite" in spout (did you mean "overwrite"?)');
    assert.equal(err.details?.field, 'spout.overwite');
    const camelErr = syntaxError(() => parseSpecs('{"outputBrnch": "x"}'));
    assert.match(camelErr.message, /unknown field "outputBrnch" in the pipeline spec \(did you mean "outputBranch"\?\)/);
    const nested = syntaxError(() => parseSpecs('{"input": {"cross": [{"pfs": {"repo": "a", "glog": "/"}}]}}'));
    assert.match(nested.message, /unknown field "glog" in input\.cross\[0\]\.pfs \(did you mean "glob"\?\)/);
    // Two letters swapped is one edit: a short name still gets its hint.
    const swapped = syntaxError(() => parseSpecs('{"pipeline": {"name": "p"}, "transform": {"imgae": "x"}}'));
    assert.match(swapped.message, /unknown field "imgae" in transform \(did you mean "image"\?\)/);
    const far = syntaxError(() => parseSpecs('{"zzzzzz": 1}'));
    assert.match(far.message, /unknown field "zzzzzz" in the pipeline spec$/);
  });

  it('refuses both spellings of one field in one object', () => {
    const err = syntaxError(() => parseSpecs('{"output_branch": "a", "outputBranch": "b"}', { file: 'o.json' }));
    assert.equal(err.message, 'malformed pipeline spec: o.json:1:24: fields "output_branch" and "outputBranch" in the pipeline spec are the same field');
  });

  it('records the position of every field present, by canonical path', () => {
    const p = one('{\n "input": {"cross": [\n  {"pfs": {"repo": "a", "glob": "/"}},\n  {"pfs": {"repo": "b", "glob": "/*"}}\n ]},\n "outputBranch": "x"\n}');
    assert.deepEqual(p.positions.get('input.cross[1].pfs.glob'), { line: 4, column: 25 });
    assert.deepEqual(p.positions.get('output_branch'), { line: 6, column: 2 });
    assert.equal(p.positions.get('transform'), undefined);
  });
});

describe('parseSpecs: leniencies', () => {
  it('reads "spout": true as an empty spout, with a warning that names where', () => {
    const p = one('{\n "pipeline": {"name": "s"},\n "spout": true\n}', 's.json');
    assert.deepEqual(p.spec.spout, { overwrite: false, marker: '' });
    assert.deepEqual(p.warnings, ['s.json:3:2: "spout": true is read as "spout": {} (a spout is declared with an object)']);
  });

  it('reads a bare YAML spout: as an empty spout, with a warning', () => {
    const p = one('pipeline: {name: s}\nspout:\n', 's.yaml');
    assert.deepEqual(p.spec.spout, { overwrite: false, marker: '' });
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0] ?? '', /^s\.yaml:2:1: "spout" has no value/);
  });

  it('reads "spout": false as no spout, with a warning', () => {
    const p = one('{"spout": false}');
    assert.equal(p.spec.spout, undefined);
    assert.match(p.warnings[0] ?? '', /"spout": false is read as no spout/);
  });

  it('applies a top-level env to transform.env, keeping transform.env values, with warnings', () => {
    const p = one('{\n "transform": {"env": {"A": "t"}},\n "env": {"A": "top", "B": "b"}\n}', 'e.json');
    assert.deepEqual(p.spec.transform?.env, { A: 't', B: 'b' });
    assert.deepEqual(p.warnings, [
      'e.json:3:2: field "env" belongs under "transform"; applied to transform.env',
      'e.json:3:2: transform.env already sets "A"; the top-level value is ignored',
    ]);
  });

  it('serializes a pod_patch given as a JSON value, with a warning', () => {
    const p = one('pod_patch:\n  - op: add\n    path: /x\n    value: 1\n', 'pp.yaml');
    assert.equal(p.spec.podPatch, '[{"op":"add","path":"/x","value":1}]');
    assert.match(p.warnings[0] ?? '', /^pp\.yaml:1:1: pod_patch is a JSON value; stored as its JSON text/);
  });
});

describe('parseSpecValue', () => {
  it('parses a spec given as a JSON value', () => {
    const p = parseSpecValue({ pipeline: { name: 'v' }, parallelism_spec: { constant: '2' } }, { file: 'request' });
    assert.equal(p.spec.pipeline?.name, 'v');
    assert.equal(p.spec.parallelismSpec?.constant, 2);
  });

  it('refuses a value that is not an object', () => {
    assert.throws(() => parseSpecValue(undefined), (e: unknown) => isSluiceError(e, 'PPS_SPEC_SYNTAX'));
    assert.throws(() => parseSpecValue('x'), (e: unknown) => isSluiceError(e, 'PPS_SPEC_SYNTAX') && /must be an object/.test(e.message));
  });
});
