import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { isSluiceError } from '../client/index.js';
import { collect, intOption, parseBranchArg, parseCommitArg, parseFileArg, parseRepoArg, positiveIntOption } from './args.js';

function invalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => isSluiceError(err, 'INVALID_ARGUMENT') && re.test(err.message));
}

describe('argument parsing', () => {
  it('reads repos, branches, commits and files in pachctl form', () => {
    assert.equal(parseRepoArg('images'), 'images');
    assert.deepEqual(parseBranchArg('images@dev'), { repo: 'images', branch: 'dev' });
    assert.deepEqual(parseCommitArg('images@master^2'), { repo: 'images', ref: 'master^2' });
    assert.deepEqual(parseFileArg('images@0123456789abcdef0123456789abcdef:/a/b.txt'), { repo: 'images', ref: '0123456789abcdef0123456789abcdef', path: '/a/b.txt' });
    assert.deepEqual(parseFileArg('images@master=0123456789abcdef0123456789abcdef:x'), { repo: 'images', ref: 'master=0123456789abcdef0123456789abcdef', path: 'x' });
  });

  it('reads a missing @ref as master, and an empty :path as none', () => {
    assert.deepEqual(parseCommitArg('images'), { repo: 'images', ref: 'master' });
    assert.deepEqual(parseFileArg('images:/x'), { repo: 'images', ref: 'master', path: '/x' });
    assert.deepEqual(parseFileArg('images@dev:'), { repo: 'images', ref: 'dev', path: undefined });
  });

  it('refuses arguments of the wrong shape', () => {
    invalid(() => parseRepoArg('images@master'), /expected a repo name/);
    invalid(() => parseRepoArg('bad name'), /only alphanumeric characters/);
    invalid(() => parseBranchArg('images'), /expected <repo>@<branch>/);
    invalid(() => parseBranchArg('images@dev:/x'), /takes no ":path"/);
    invalid(() => parseCommitArg('images@master:/x'), /takes no ":path"/);
    invalid(() => parseFileArg('images@master', { requirePath: true }), /expected <repo>@<branch-or-commit>:<path>/);
    invalid(() => parseFileArg('images@:/x'), /empty branch or commit/);
  });

  it('parses numeric options for commander', () => {
    assert.equal(intOption('0'), 0);
    assert.equal(positiveIntOption('12'), 12);
    assert.throws(() => intOption('-1'), InvalidArgumentError);
    assert.throws(() => intOption('1.5'), InvalidArgumentError);
    assert.throws(() => positiveIntOption('0'), InvalidArgumentError);
    assert.deepEqual(collect('b', collect('a', undefined)), ['a', 'b']);
  });
});
