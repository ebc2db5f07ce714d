import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSluiceError } from '../errors/index.js';
import { compileGlob, expandTemplate, globSegments, isLiteralSegment } from './pach-glob.js';

describe('compileGlob', () => {
  it('matches * within one path element, ** across elements, ? one character', () => {
    const star = compileGlob('/*');
    assert.ok(star.match('/a.txt'));
    assert.ok(!star.match('/dir/a.txt'));
    assert.ok(compileGlob('/**').match('/dir/a.txt'));
    assert.ok(compileGlob('/a/**/z').match('/a/b/c/z'));
    assert.ok(compileGlob('/?at').match('/cat'));
    assert.ok(!compileGlob('/?at').match('/at'));
    assert.ok(!compileGlob('/?at').match('//at'));
  });

  it('matches classes, negated classes, ranges and {a,b} alternatives', () => {
    assert.ok(compileGlob('/[abc]at').match('/bat'));
    assert.ok(!compileGlob('/[abc]at').match('/fat'));
    assert.ok(compileGlob('/[!abc]at').match('/fat'));
    assert.ok(!compileGlob('/[!abc]at').match('/cat'));
    assert.ok(compileGlob('/[a-c]at').match('/cat'));
    assert.ok(compileGlob('/*.{jpg,png}').match('/x.png'));
    assert.ok(!compileGlob('/*.{jpg,png}').match('/x.gif'));
    assert.equal(compileGlob('/*.{jpg,png}').groups, 0, 'braces do not capture');
  });

  it('takes regex characters and escaped glob characters literally', () => {
    assert.ok(compileGlob('/a.b+c$').match('/a.b+c$'));
    assert.ok(!compileGlob('/a.b').match('/axb'));
    assert.ok(compileGlob('/\\*').match('/*'));
    assert.ok(!compileGlob('/\\*').match('/x'));
    assert.ok(compileGlob('/a)b|c').match('/a)b|c'), ') and | outside a capture are characters');
  });

  it("captures the groups the user wrote, numbered from 1 (Pachyderm's examples)", () => {
    assert.deepEqual(compileGlob('/STOREID(*).txt').capture('/STOREID1.txt'), ['/STOREID1.txt', '1']);
    assert.deepEqual(compileGlob('/*_STOREID(*).txt').capture('/ORDERW080520_STOREID1.txt'), ['/ORDERW080520_STOREID1.txt', '1']);
    assert.deepEqual(compileGlob('/*-PATID(*)-*.txt').capture('/T1606707557-LIPID-PATID1-CLIA24D9871327.txt')?.[1], '1');
    assert.deepEqual(compileGlob('/*-CLIA(*).txt').capture('/T1606707557-LIPID-PATID1-CLIA24D9871327.txt')?.[1], '24D9871327');
    assert.equal(compileGlob('/(*)/(*)').groups, 2);
    assert.deepEqual(compileGlob('/(*)/(*)').capture('/a/b'), ['/a/b', 'a', 'b']);
  });

  it('handles the extglob quantifiers as ohmyglob does', () => {
    const cases: Array<[string, string, string[] | undefined]> = [
      ['test/(a|b)', 'hi/123', undefined],
      ['test/(a|b)/x.go', 'test/b/x.go', ['b']],
      ['test/a*(a|b)/x.go', 'test/a/x.go', ['']],
      ['test/a*(a|b)/x.go', 'test/aba/x.go', ['ba']],
      ['test/+(a|b)/x.go', 'test/aba/x.go', ['aba']],
      ['test/a?(a|b)/x.go', 'test/ab/x.go', ['b']],
      ['test/@(a|b)/x.go', 'test/a/x.go', ['a']],
      ['test/(a|b)/(*).go', 'test/a/x.go', ['a', 'x']],
      ['test/a*(a|b)/*(*).go', 'test/aaaa/x.go', ['aaa', 'x']],
      ['test*(/?(+(a|b)/*.go))', 'test/a/x.go', ['/a/x.go', 'a/x.go', 'a']],
    ];
    for (const [pattern, path, groups] of cases) {
      const got = compileGlob(pattern).capture(path);
      assert.deepEqual(got, groups === undefined ? undefined : [path, ...groups], `${pattern} on ${path}`);
    }
  });

  it('matches !(…) as anything but the alternatives', () => {
    const g = compileGlob('/!(*.tmp)');
    assert.ok(g.match('/a.txt'));
    assert.ok(!g.match('/a.tmp'));
  });

  it('gives @, ! and + their plain meaning when no ( follows', () => {
    assert.ok(compileGlob('/a@b!c+d').match('/a@b!c+d'));
  });

  it('refuses malformed patterns with INVALID_ARGUMENT naming the pattern', () => {
    for (const bad of ['/(a', '/{a,b', '/[abc', '/a\\', '/[z-a]']) {
      assert.throws(() => compileGlob(bad), (err: unknown) => isSluiceError(err, 'INVALID_ARGUMENT') && err.message.includes(JSON.stringify(bad)), bad);
    }
  });
});

describe('expandTemplate', () => {
  const caps = ['/a/b', 'a', 'b'];
  it('replaces $n and ${n}, keeps $$ as $ and a lone $ as itself', () => {
    assert.equal(expandTemplate(caps, '$1'), 'a');
    assert.equal(expandTemplate(caps, '$1$2'), 'ab');
    assert.equal(expandTemplate(caps, '${2}x'), 'bx');
    assert.equal(expandTemplate(caps, '$2x'), 'bx', 'only digits make the number');
    assert.equal(expandTemplate(caps, '$0'), '/a/b');
    assert.equal(expandTemplate(caps, '$$1'), '$1');
    assert.equal(expandTemplate(caps, 'cost: $'), 'cost: $');
    assert.equal(expandTemplate(caps, '$x'), '$x');
  });
  it('makes a group that does not exist, or a number with a leading zero, empty', () => {
    assert.equal(expandTemplate(caps, '[$9]'), '[]');
    assert.equal(expandTemplate(caps, '[$01]'), '[]');
    assert.equal(expandTemplate([], 'k$1'), 'k');
    assert.equal(expandTemplate(caps, ''), '');
  });
});

describe('globSegments', () => {
  it('cuts at top-level slashes only', () => {
    assert.deepEqual(globSegments('/a/*/(*).txt'), ['a', '*', '(*).txt']);
    assert.deepEqual(globSegments('/'), []);
    assert.deepEqual(globSegments('/a\\/b'), ['a\\/b']);
    assert.equal(globSegments('/(a/b|c)'), undefined);
    assert.equal(globSegments('/{a/b,c}'), undefined);
  });
  it('tells plain names from patterns', () => {
    assert.ok(isLiteralSegment('data.csv'));
    assert.ok(!isLiteralSegment('(*).csv'));
    assert.ok(!isLiteralSegment('a\\*'));
  });
});
