import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DatumInput } from '../api/pps-types.js';
import { compileGlob } from '../lib/pach-glob.js';
import { formDatums, type LeafMatcher } from './datums.js';
import type { Input, PfsInput } from './spec/index.js';

/** Repos of Pachyderm's examples/joins and examples/group data (file names only). */
const REPOS: Record<string, string[]> = {
  stores: ['/STOREID1.txt', '/STOREID2.txt', '/STOREID3.txt', '/STOREID4.txt', '/STOREID5.txt'],
  purchases: [
    '/ORDERW078929_STOREID2.txt',
    '/ORDERW080231_STOREID5.txt',
    '/ORDERW080520_STOREID1.txt',
    '/ORDERW080521_STOREID1.txt',
    '/ORDERW080528_STOREID5.txt',
    '/ORDERW598471_STOREID3.txt',
  ],
  returns: ['/ORDERW080231_STOREID5.txt', '/ORDERW080520_STOREID1.txt', '/ORDERW080528_STOREID5.txt', '/ORDERW261452_STOREID0.txt'],
  labresults: [
    '/T1606331395-LIPID-PATID2-CLIA24D9871327.txt',
    '/T1606707557-LIPID-PATID1-CLIA24D9871327.txt',
    '/T1606707579-LIPID-PATID3-CLIA24D9871327.txt',
    '/T1606707597-LIPID-PATID4-CLIA24D9871327.txt',
    '/T1606707613-LIPID-PATID1-CLIA24D9871328.txt',
    '/T1606707635-LIPID-PATID3-CLIA24D9871328.txt',
  ],
};

/** Matches file names with the real glob compiler; the commit of repo r is `c-r`. */
const matcher: LeafMatcher = async ({ repo, glob }) => {
  const files = REPOS[repo];
  if (files === undefined) return undefined;
  const g = compileGlob(glob);
  return { commit: `c-${repo}`, matches: files.filter((f) => g.match(f)).map((path) => ({ path, type: 'file' as const })) };
};

function pfs(repo: string, glob: string, more: Partial<PfsInput> = {}): Input {
  return {
    pfs: {
      name: repo, project: '', repo, repoType: '', branch: 'master', commit: '', glob,
      joinOn: '', outerJoin: false, groupBy: '', lazy: false, emptyFiles: false, s3: false, ...more,
    },
  };
}

/** Each datum as `repo:path` strings, for comparing with what Pachyderm's docs list. */
function show(datums: DatumInput[][]): string[][] {
  return datums.map((d) => d.map((i) => `${i.repo}:${i.path}`));
}

const stores = (more: Partial<PfsInput> = {}): Input => pfs('stores', '/STOREID(*).txt', { joinOn: '$1', ...more });
const returns = (more: Partial<PfsInput> = {}): Input => pfs('returns', '/*_STOREID(*).txt', { joinOn: '$1', ...more });

describe('formDatums: join', () => {
  it('forms an inner join as the cross product per key (examples/joins inner_join)', async () => {
    // Children sorted by name, as defaults.ts leaves them: purchases before stores.
    const got = show(await formDatums({ join: [pfs('purchases', '/*_STOREID(*).txt', { joinOn: '$1' }), stores()] }, matcher));
    assert.deepEqual(got, [
      ['purchases:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
      ['purchases:/ORDERW080521_STOREID1.txt', 'stores:/STOREID1.txt'],
      ['purchases:/ORDERW078929_STOREID2.txt', 'stores:/STOREID2.txt'],
      ['purchases:/ORDERW598471_STOREID3.txt', 'stores:/STOREID3.txt'],
      ['purchases:/ORDERW080231_STOREID5.txt', 'stores:/STOREID5.txt'],
      ['purchases:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
    ]);
  });

  it('keeps the unmatched files of an outer_join side alone, and only those', async () => {
    const onReturns = show(await formDatums({ join: [returns({ outerJoin: true }), stores()] }, matcher));
    assert.deepEqual(onReturns, [
      ['returns:/ORDERW261452_STOREID0.txt'],
      ['returns:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
      ['returns:/ORDERW080231_STOREID5.txt', 'stores:/STOREID5.txt'],
      ['returns:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
    ]);
    const onStores = show(await formDatums({ join: [returns(), stores({ outerJoin: true })] }, matcher));
    assert.deepEqual(onStores, [
      ['returns:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
      ['stores:/STOREID2.txt'],
      ['stores:/STOREID3.txt'],
      ['stores:/STOREID4.txt'],
      ['returns:/ORDERW080231_STOREID5.txt', 'stores:/STOREID5.txt'],
      ['returns:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
    ]);
    const both = show(await formDatums({ join: [returns({ outerJoin: true }), stores({ outerJoin: true })] }, matcher));
    assert.equal(both.length, 7);
    assert.deepEqual(both.filter((d) => d.length === 1).sort(), [
      ['returns:/ORDERW261452_STOREID0.txt'],
      ['stores:/STOREID2.txt'],
      ['stores:/STOREID3.txt'],
      ['stores:/STOREID4.txt'],
    ]);
  });

  it('gives each input its key, outer flag, lazy and empty_files', async () => {
    const [first] = await formDatums({ join: [returns({ outerJoin: true, lazy: true }), stores({ emptyFiles: true })] }, matcher);
    assert.deepEqual(first, [{ name: 'returns', repo: 'returns', commit: 'c-returns', path: '/ORDERW261452_STOREID0.txt', type: 'file', joinOn: '0', outerJoin: true, lazy: true }]);
    const [, second] = await formDatums({ join: [returns(), stores({ emptyFiles: true })] }, matcher).then((d) => [d[0], d[0]]);
    assert.equal(second?.[1]?.emptyFiles, true);
    assert.equal(second?.[1]?.joinOn, '1');
  });

  it('joins everything with everything when join_on is empty', async () => {
    const got = await formDatums({ join: [pfs('returns', '/*'), pfs('stores', '/*')] }, matcher);
    assert.equal(got.length, 4 * 5);
    assert.equal(got[0]?.[0]?.joinOn, undefined, 'an empty key sets no join_on');
  });

  it('keeps a datum an outer join forms twice only once', async () => {
    // Three inputs, returns outer; key 1 is in returns and purchases (twice) but not in the lab
    // results (keyed by hospital): each (purchase, return) pair filters down to the same lone return.
    const third = pfs('labresults', '/*-CLIA(*).txt', { joinOn: '$1', name: 'lab' });
    const got = show(await formDatums({ join: [pfs('purchases', '/*_STOREID(*).txt', { joinOn: '$1' }), returns({ outerJoin: true }), third] }, matcher));
    const lone = got.filter((d) => d.length === 1 && d[0] === 'returns:/ORDERW080520_STOREID1.txt');
    assert.equal(lone.length, 1);
  });

  it('joins the datums of a cross input by each of their inputs', async () => {
    const got = show(await formDatums({ cross: [{ join: [returns(), stores()] }, pfs('labresults', '/*-CLIA(*).txt')] }, matcher));
    assert.equal(got.length, 3 * 6, 'three joined pairs crossed with six lab results');
    assert.deepEqual(got[0], ['returns:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt', 'labresults:/T1606331395-LIPID-PATID2-CLIA24D9871327.txt']);
  });
});

describe('formDatums: group', () => {
  it('puts every file with the same key in one datum (examples/group lab, by patient and by hospital)', async () => {
    const byPatient = await formDatums({ group: [pfs('labresults', '/*-PATID(*)-*.txt', { groupBy: '$1' })] }, matcher);
    assert.deepEqual(
      byPatient.map((d) => [d[0]?.groupBy, d.map((i) => i.path)]),
      [
        ['1', ['/T1606707557-LIPID-PATID1-CLIA24D9871327.txt', '/T1606707613-LIPID-PATID1-CLIA24D9871328.txt']],
        ['2', ['/T1606331395-LIPID-PATID2-CLIA24D9871327.txt']],
        ['3', ['/T1606707579-LIPID-PATID3-CLIA24D9871327.txt', '/T1606707635-LIPID-PATID3-CLIA24D9871328.txt']],
        ['4', ['/T1606707597-LIPID-PATID4-CLIA24D9871327.txt']],
      ],
    );
    const byHospital = await formDatums({ group: [pfs('labresults', '/*-CLIA(*).txt', { groupBy: '$1' })] }, matcher);
    assert.deepEqual(byHospital.map((d) => [d[0]?.groupBy, d.length]), [['24D9871327', 4], ['24D9871328', 2]]);
  });

  it('groups across several inputs, children in order (examples/group retail)', async () => {
    const got = show(await formDatums({
      group: [
        pfs('purchases', '/*_STOREID(*).txt', { groupBy: '$1' }),
        pfs('returns', '/*_STOREID(*).txt', { groupBy: '$1' }),
        pfs('stores', '/STOREID(*).txt', { groupBy: '$1' }),
      ],
    }, matcher));
    assert.deepEqual(got, [
      ['returns:/ORDERW261452_STOREID0.txt'],
      ['purchases:/ORDERW080520_STOREID1.txt', 'purchases:/ORDERW080521_STOREID1.txt', 'returns:/ORDERW080520_STOREID1.txt', 'stores:/STOREID1.txt'],
      ['purchases:/ORDERW078929_STOREID2.txt', 'stores:/STOREID2.txt'],
      ['purchases:/ORDERW598471_STOREID3.txt', 'stores:/STOREID3.txt'],
      ['stores:/STOREID4.txt'],
      ['purchases:/ORDERW080231_STOREID5.txt', 'purchases:/ORDERW080528_STOREID5.txt', 'returns:/ORDERW080231_STOREID5.txt', 'returns:/ORDERW080528_STOREID5.txt', 'stores:/STOREID5.txt'],
    ]);
  });

  it('makes one datum of everything when group_by is empty, and unions with other inputs', async () => {
    const got = await formDatums({ union: [{ group: [pfs('returns', '/*'), pfs('stores', '/*')] }, pfs('purchases', '/*')] }, matcher);
    assert.equal(got.length, 1 + 6);
    assert.equal(got[0]?.length, 4 + 5);
  });
});
