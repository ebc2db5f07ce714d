/**
 * Join and group inputs end to end, with Pachyderm's own examples (examples/joins and
 * examples/group: their data, in test/fixtures/joins, and their pipelines' inputs, with our own
 * user code): a real daemon as a child process, real workers running shell scripts, everything
 * driven through the CLI. The datums `list datum` shows are compared with the ones Pachyderm's
 * docs list for these examples (their `pachctl list datum -f …` screenshots and tables), as sets
 * of files, since neither side promises an order; and a second commit re-processes only the
 * datums whose files changed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, runCli, startCliDaemon } from './harness.js';
import { packageRoot } from '../../src/lib/version.js';

const FIX = join(packageRoot(), 'test', 'fixtures', 'joins');
const JOB_TIMEOUT = 60_000;

interface RawJob {
  id: string;
  state: string;
  reason: string;
  datums: { total: number; processed: number; skipped: number; failed: number };
}

/** Datums as Pachyderm's docs list them: each a sorted list of `repo:/path`, the list sorted. */
function datumSet(datums: string[][]): string[] {
  return datums.map((d) => [...d].sort().join(', ')).sort();
}

const INNER = [
  ['purchases:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
  ['purchases:/ORDERW080521_STOREID1.txt', 'stores:/STOREID1.txt'],
  ['purchases:/ORDERW078929_STOREID2.txt', 'stores:/STOREID2.txt'],
  ['purchases:/ORDERW598471_STOREID3.txt', 'stores:/STOREID3.txt'],
  ['purchases:/ORDERW080231_STOREID5.txt', 'stores:/STOREID5.txt'],
  ['purchases:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
];
const MATCHED_RETURNS = [
  ['returns:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
  ['returns:/ORDERW080231_STOREID5.txt', 'stores:/STOREID5.txt'],
  ['returns:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
];
const OUTER_RETURNS = [...MATCHED_RETURNS, ['returns:/ORDERW261452_STOREID0.txt']];
const OUTER_STORES = [...MATCHED_RETURNS, ['stores:/STOREID2.txt'], ['stores:/STOREID3.txt'], ['stores:/STOREID4.txt']];
const FULL_OUTER = [...OUTER_STORES, ['returns:/ORDERW261452_STOREID0.txt']];
const LAB = (n: string): string => `labresults:/${n}.txt`;
const BY_PATIENT = [
  [LAB('T1606707557-LIPID-PATID1-CLIA24D9871327'), LAB('T1606707613-LIPID-PATID1-CLIA24D9871328')],
  [LAB('T1606331395-LIPID-PATID2-CLIA24D9871327')],
  [LAB('T1606707579-LIPID-PATID3-CLIA24D9871327'), LAB('T1606707635-LIPID-PATID3-CLIA24D9871328')],
  [LAB('T1606707597-LIPID-PATID4-CLIA24D9871327')],
];
const BY_HOSPITAL = [
  [LAB('T1606331395-LIPID-PATID2-CLIA24D9871327'), LAB('T1606707557-LIPID-PATID1-CLIA24D9871327'), LAB('T1606707579-LIPID-PATID3-CLIA24D9871327'), LAB('T1606707597-LIPID-PATID4-CLIA24D9871327')],
  [LAB('T1606707613-LIPID-PATID1-CLIA24D9871328'), LAB('T1606707635-LIPID-PATID3-CLIA24D9871328')],
];
const RETAIL = [
  ['returns:/ORDERW261452_STOREID0.txt'],
  ['stores:/STOREID1.txt', 'purchases:/ORDERW080520_STOREID1.txt', 'purchases:/ORDERW080521_STOREID1.txt', 'returns:/ORDERW080520_STOREID1.txt'],
  ['stores:/STOREID2.txt', 'purchases:/ORDERW078929_STOREID2.txt'],
  ['stores:/STOREID3.txt', 'purchases:/ORDERW598471_STOREID3.txt'],
  ['stores:/STOREID4.txt'],
  ['stores:/STOREID5.txt', 'purchases:/ORDERW080231_STOREID5.txt', 'purchases:/ORDERW080528_STOREID5.txt', 'returns:/ORDERW080231_STOREID5.txt', 'returns:/ORDERW080528_STOREID5.txt'],
];

describe("join and group inputs with Pachyderm's examples", () => {
  let env: NodeJS.ProcessEnv;
  let work: string;
  let stopDaemon: () => Promise<void>;

  async function ok(args: string[]): Promise<string> {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `sluice ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return r.out;
  }

  const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

  async function jobs(pipeline: string): Promise<RawJob[]> {
    return lines(await ok(['list', 'job', '-p', pipeline, '--raw'])).map((l) => JSON.parse(l) as RawJob);
  }

  /** Waits for the pipeline's `n`th job to end and returns it (it must have succeeded). */
  async function nthJob(pipeline: string, n: number): Promise<RawJob> {
    const job = await eventually(async () => {
      const all = await jobs(pipeline);
      const ended = all.filter((j) => ['success', 'failure', 'killed'].includes(j.state));
      return ended.length >= n && ended.length === all.length ? all[0] : undefined;
    }, JOB_TIMEOUT, `job ${n} of ${pipeline}`);
    assert.equal(job.state, 'success', `${pipeline}: ${job.reason}`);
    return job;
  }

  /** The FILES column of `list datum`, each `repo@commit:/path` shortened to `repo:/path`. */
  async function listDatums(pipeline: string, job: string): Promise<{ files: string[][]; states: string[] }> {
    const rows = lines(await ok(['list', 'datum', `${pipeline}@${job}`]));
    assert.match(rows[0] ?? '', /^ID +FILES +STATUS +TIME$/);
    const files: string[][] = [];
    const states: string[] = [];
    for (const row of rows.slice(1)) {
      const m = /^(\S+) +(.+?) +(\S+) +(\S+)$/.exec(row);
      assert.ok(m !== null, row);
      files.push(m[2]!.split(', ').map((f) => f.replace(/@[0-9a-f]{32}:/, ':')));
      states.push(m[3]!);
    }
    return { files, states };
  }

  /** The FILES of `list datum -f <spec>` (Pachyderm's dry run), as `listDatums` gives them. */
  async function previewDatums(file: string): Promise<string[][]> {
    const rows = lines(await ok(['list', 'datum', '-f', file]));
    assert.match(rows[0] ?? '', /^ID +FILES +STATUS +TIME$/);
    return rows.slice(1).map((row) => {
      const m = /^(\S+) +(.+?) +- +-$/.exec(row);
      assert.ok(m !== null, row);
      return m[2]!.split(', ').map((f) => f.replace(/@[0-9a-f]{32}:/, ':'));
    });
  }

  async function specFile(fixture: string, edit: (spec: Record<string, unknown>) => void = () => undefined): Promise<string> {
    const text = (await readFile(join(FIX, fixture), 'utf8')).replace('"BY_KEY"', JSON.stringify(join(FIX, 'by-key.sh'))).replace('"LIST_GROUP"', JSON.stringify(join(FIX, 'list-group.sh')));
    const spec = JSON.parse(text) as Record<string, unknown>;
    edit(spec);
    const file = join(work, `${(spec.pipeline as { name: string }).name}.json`);
    await writeFile(file, JSON.stringify(spec, null, 2));
    return file;
  }

  async function createFrom(fixture: string, edit?: (spec: Record<string, unknown>) => void): Promise<void> {
    await ok(['create', 'pipeline', '-f', await specFile(fixture, edit)]);
  }

  /** Sets `outer_join` on the join's inputs by repo, as the examples' README has the user do. */
  function outer(name: string, flags: Record<string, boolean>): (spec: Record<string, unknown>) => void {
    return (spec) => {
      (spec.pipeline as { name: string }).name = name;
      for (const child of (spec.input as { join: Array<{ pfs: { repo: string; outer_join?: boolean } }> }).join) {
        child.pfs.outer_join = flags[child.pfs.repo] ?? false;
      }
    };
  }

  before(async () => {
    const d = await startCliDaemon('joins');
    env = d.env;
    work = d.work;
    stopDaemon = d.stop;
    for (const repo of ['stores', 'purchases', 'returns', 'labresults']) {
      await ok(['create', 'repo', repo]);
      await ok(['put', 'file', '-r', `${repo}@master:/`, '-f', join(FIX, repo)]);
    }
  });
  after(async () => stopDaemon());

  it('previews the datums of a spec with list datum -f, as the docs do, creating nothing', async () => {
    assert.deepEqual(datumSet(await previewDatums(await specFile('inner_join.json'))), datumSet(INNER));
    assert.deepEqual(datumSet(await previewDatums(await specFile('outer_join.json', outer('outer_preview', { returns: true })))), datumSet(OUTER_RETURNS));
    assert.deepEqual(datumSet(await previewDatums(await specFile('retail_group.json'))), datumSet(RETAIL));
    assert.deepEqual(lines(await ok(['list', 'pipeline'])).slice(1), [], 'no pipeline was created');
    const both = await runCli(['list', 'datum', 'inner_join@0123456789abcdef0123456789abcdef', '-f', await specFile('inner_join.json')], env);
    assert.notEqual(both.code, 0);
    assert.match(both.err, /^error: can't specify both a job and a pipeline spec/);
  });

  it('forms the inner join datums the docs list, one per purchase with its store', async () => {
    await createFrom('inner_join.json');
    const job = await nthJob('inner_join', 1);
    const { files, states } = await listDatums('inner_join', job.id);
    assert.deepEqual(datumSet(files), datumSet(INNER));
    assert.ok(states.every((s) => s === 'success'), states.join(' '));
    // User code saw the join key: purchases sorted into folders named by store id.
    const out = lines(await ok(['list', 'file', 'inner_join@master']));
    assert.deepEqual(out.slice(1).map((l) => l.split(/ +/)[0]), ['/1/', '/2/', '/3/', '/5/']);
    assert.deepEqual(lines(await ok(['list', 'file', 'inner_join@master:/5/'])).slice(1).map((l) => l.split(/ +/)[0]), ['/5/ORDERW080231_STOREID5.txt', '/5/ORDERW080528_STOREID5.txt']);
  });

  it('yields the unmatched datums of each outer join side, as in the docs (three cases)', async () => {
    await createFrom('outer_join.json', outer('outer_on_returns', { returns: true }));
    await createFrom('outer_join.json', outer('outer_on_stores', { stores: true }));
    await createFrom('outer_join.json');
    const cases: Array<[string, string[][]]> = [['outer_on_returns', OUTER_RETURNS], ['outer_on_stores', OUTER_STORES], ['outer_join', FULL_OUTER]];
    for (const [pipeline, expected] of cases) {
      const job = await nthJob(pipeline, 1);
      assert.deepEqual(datumSet((await listDatums(pipeline, job.id)).files), datumSet(expected), pipeline);
    }
    // The return without a store came through alone, with no join key.
    assert.deepEqual(lines(await ok(['list', 'file', 'outer_on_returns@master:/UNKNOWN/'])).slice(1).map((l) => l.split(/ +/)[0]), ['/UNKNOWN/ORDERW261452_STOREID0.txt']);
  });

  it('groups lab results by patient and by hospital, one datum per key, as the docs list', async () => {
    await createFrom('lab_group_by_patient.json');
    await createFrom('lab_group_by_hospital.json');
    const byPatient = await nthJob('group_by_patient', 1);
    assert.deepEqual(datumSet((await listDatums('group_by_patient', byPatient.id)).files), datumSet(BY_PATIENT));
    const byHospital = await nthJob('group_by_hospital', 1);
    assert.deepEqual(datumSet((await listDatums('group_by_hospital', byHospital.id)).files), datumSet(BY_HOSPITAL));
    // PACH_DATUM_labresults_GROUP_BY named each datum's folder.
    assert.deepEqual(lines(await ok(['list', 'file', 'group_by_patient@master'])).slice(1).map((l) => l.split(/ +/)[0]), ['/1/', '/2/', '/3/', '/4/']);
    assert.deepEqual(lines(await ok(['list', 'file', 'group_by_hospital@master:/24D9871328/'])).slice(1).map((l) => l.split(/ +/)[0]), [
      '/24D9871328/T1606707613-LIPID-PATID1-CLIA24D9871328.txt',
      '/24D9871328/T1606707635-LIPID-PATID3-CLIA24D9871328.txt',
    ]);
  });

  it('groups purchases, returns and stores across three repos by store id (retail)', async () => {
    await createFrom('retail_group.json');
    const job = await nthJob('group_store_revenue', 1);
    assert.deepEqual(datumSet((await listDatums('group_store_revenue', job.id)).files), datumSet(RETAIL));
    assert.equal(await ok(['get', 'file', 'group_store_revenue@master:/5.txt']), [
      'purchases/ORDERW080231_STOREID5.txt', 'purchases/ORDERW080528_STOREID5.txt',
      'returns/ORDERW080231_STOREID5.txt', 'returns/ORDERW080528_STOREID5.txt', 'stores/STOREID5.txt', '',
    ].join('\n'));
  });

  it('re-processes only the datums whose files changed on the next commit', async () => {
    const extra = join(work, 'ORDERW999999_STOREID4.txt');
    await writeFile(extra, 'ORDER_HEADER|W999999|2020-10-11\nSKU|1001|QTY|1|UNIT_PRICE|100.00\n');
    await ok(['put', 'file', 'purchases@master:/ORDERW999999_STOREID4.txt', '-f', extra]);

    // The inner join gains one datum (store 4 now has a purchase); the six others are skipped.
    const inner = await nthJob('inner_join', 2);
    assert.deepEqual(inner.datums, { ...inner.datums, total: 7, processed: 1, skipped: 6, failed: 0 });
    const { files, states } = await listDatums('inner_join', inner.id);
    assert.deepEqual(datumSet(files), datumSet([...INNER, ['purchases:/ORDERW999999_STOREID4.txt', 'stores:/STOREID4.txt']]));
    assert.deepEqual(states.filter((s) => s === 'success').length, 1);
    assert.ok((await ok(['list', 'file', 'inner_join@master'])).includes('/4/'));

    // In the group, only store 4's datum holds a changed file set.
    const retail = await nthJob('group_store_revenue', 2);
    assert.deepEqual(retail.datums, { ...retail.datums, total: 6, processed: 1, skipped: 5, failed: 0 });
    assert.equal(await ok(['get', 'file', 'group_store_revenue@master:/4.txt']), 'purchases/ORDERW999999_STOREID4.txt\nstores/STOREID4.txt\n');
    assert.equal((await ok(['get', 'file', 'group_store_revenue@master:/1.txt'])).split('\n').length, 5, 'skipped datums keep their output');

    // A return at store 4: in the outer join on stores, store 4's lone datum becomes a pair.
    const ret = join(work, 'ORDERW999999_STOREID4-return.txt');
    await writeFile(ret, 'ORDER_HEADER|W999999|2020-10-12\nSKU|1001|QTY|1|UNIT_PRICE|100.00\n');
    await ok(['put', 'file', 'returns@master:/ORDERW999999_STOREID4.txt', '-f', ret]);
    const outerStores = await nthJob('outer_on_stores', 2);
    assert.deepEqual(outerStores.datums, { ...outerStores.datums, total: 6, processed: 1, skipped: 5, failed: 0 });
    const after = await listDatums('outer_on_stores', outerStores.id);
    assert.deepEqual(datumSet(after.files), datumSet([...OUTER_STORES.filter((d) => d[0] !== 'stores:/STOREID4.txt'), ['returns:/ORDERW999999_STOREID4.txt', 'stores:/STOREID4.txt']]));
  });
  it('streams lazy inputs through named pipes and gives empty_files inputs their names only, in the sandbox', async () => {
    const file = join(work, 'lazy_join.json');
    await writeFile(file, JSON.stringify({
      pipeline: { name: 'lazy_join' },
      input: {
        join: [
          { pfs: { repo: 'stores', glob: '/STOREID(*).txt', join_on: '$1', lazy: true } },
          { pfs: { repo: 'returns', glob: '/*_STOREID(*).txt', join_on: '$1', empty_files: true } },
        ],
      },
      transform: {
        cmd: ['sh'],
        stdin: [
          'set -e',
          'key=$PACH_DATUM_stores_JOIN_ON',
          'if [ -p "$stores" ]; then kind=fifo; else kind=file; fi',
          'echo "$kind $(cat "$stores" | wc -c) $(cat "$returns" | wc -c) $(basename "$returns")" > /pfs/out/$key-$(basename "$returns")',
        ],
      },
    }));
    await ok(['create', 'pipeline', '-f', file]);
    const job = await nthJob('lazy_join', 1);
    assert.equal(job.datums.total, 4, 'three matched returns and the new one at store 4');
    const store5 = (await readFile(join(FIX, 'stores', 'STOREID5.txt'))).length;
    assert.equal(await ok(['get', 'file', 'lazy_join@master:/5-ORDERW080231_STOREID5.txt']), `fifo ${store5} 0 ORDERW080231_STOREID5.txt\n`);
  });
});
