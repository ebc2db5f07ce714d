import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyDefaults } from './defaults.js';
import { inputShorthand } from './input-shorthand.js';
import { parseSpecs } from './parse.js';
import type { Input } from './types.js';

function inputOf(json: string): Input | undefined {
  const [p] = parseSpecs(`{"pipeline": {"name": "p"}, "input": ${json}}`);
  assert.ok(p !== undefined);
  return applyDefaults(p.spec).input;
}

describe('inputShorthand', () => {
  it('renders no input as none', () => {
    assert.equal(inputShorthand(undefined), 'none');
  });

  it('renders a pfs input as repo:glob, whatever its name', () => {
    assert.equal(inputShorthand(inputOf('{"pfs": {"repo": "images", "name": "pics", "glob": "/*"}}')), 'images:/*');
  });

  it('renders a cron input as name:spec', () => {
    assert.equal(inputShorthand(inputOf('{"cron": {"name": "tick", "spec": "@every 10s"}}')), 'tick:@every 10s');
  });

  it('renders cross, join, union and group with their operators', () => {
    const a = '{"pfs": {"repo": "a", "glob": "/"}}';
    const b = '{"pfs": {"repo": "b", "glob": "/*"}}';
    assert.equal(inputShorthand(inputOf(`{"cross": [${a}, ${b}]}`)), '(a:/ ⨯ b:/*)');
    assert.equal(inputShorthand(inputOf(`{"join": [${a}, ${b}]}`)), '(a:/ ⋈ b:/*)');
    assert.equal(inputShorthand(inputOf(`{"union": [${a}, ${b}]}`)), '(a:/ ∪ b:/*)');
    assert.equal(inputShorthand(inputOf(`{"group": [${a}, ${b}]}`)), '(Group: a:/, b:/*)');
  });

  it('renders nested inputs recursively', () => {
    const text =
      '{"cross": [{"union": [{"pfs": {"repo": "y", "name": "y", "glob": "/*"}}, {"pfs": {"repo": "x", "name": "x", "glob": "/*"}}]}, {"cron": {"name": "tick", "spec": "@hourly"}}]}';
    // Defaults sort inputs by name as Pachyderm does: a union by its first child's name, and a
    // cron input as if unnamed, so it comes first.
    assert.equal(inputShorthand(inputOf(text)), '(tick:@hourly ⨯ (x:/* ∪ y:/*))');
  });

  it('shows the glob as stored after defaults clean it', () => {
    assert.equal(inputShorthand(inputOf('{"pfs": {"repo": "urls", "glob": "urls/*"}}')), 'urls:/urls/*');
  });
});
