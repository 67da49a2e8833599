import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths.js';
import { ConfigError } from '../../src/errors.js';
import { compilePattern } from '../../src/router/pattern.js';

interface Case {
  pattern: string;
  tag: string;
  match: boolean;
}

const cases = JSON.parse(
  readFileSync(fixture('patterns.json'), 'utf8'),
) as Case[];

test('fixtures/patterns.json is a non-trivial table', () => {
  assert.ok(cases.length > 100);
  assert.ok(cases.some((c) => c.match) && cases.some((c) => !c.match));
});

test('pattern table', () => {
  const failures: string[] = [];
  for (const c of cases) {
    const got = compilePattern(c.pattern)(c.tag);
    if (got !== c.match) failures.push(`${JSON.stringify(c.pattern)} vs ${JSON.stringify(c.tag)}: want ${c.match}, got ${got}`);
  }
  assert.deepEqual(failures, []);
});

test('a compiled matcher is reusable and stateless', () => {
  const m = compilePattern('a.* /b+/');
  for (let i = 0; i < 3; i++) {
    assert.equal(m('a.x'), true);
    assert.equal(m('bbb'), true);
    assert.equal(m('c'), false);
  }
});

test('invalid patterns throw a ConfigError that names the pattern', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   \t ', /empty/],
    ['a.{b,c', /never closed/],
    ['a.{b,{c,d}', /never closed/],
    ['a.b}', /no matching/],
    ['a}', /no matching/],
    ['a\\', /escape/],
    ['/abc', /regular expression/],
    ['/', /regular expression/],
    ['//', /regular expression/],
    ['/a(/', /bad regular expression/],
    ['/[z-a]/', /bad regular expression/],
    ['ok.log /a(/', /bad regular expression/],
  ];
  for (const [pattern, why] of bad) {
    assert.throws(
      () => compilePattern(pattern),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${JSON.stringify(pattern)}: not a ConfigError`);
        assert.equal(err.code, 'TDF_CONFIG');
        assert.match(err.message, why, `${JSON.stringify(pattern)}: ${err.message}`);
        assert.ok(err.message.includes(`"${pattern}"`), `message does not name the pattern: ${err.message}`);
        return true;
      },
    );
  }
});

test('non-string pattern is rejected', () => {
  assert.throws(() => compilePattern(undefined as unknown as string), ConfigError);
});

test('a regex must match the whole tag, even with alternation', () => {
  const m = compilePattern('/test|session/');
  assert.equal(m('test'), true);
  assert.equal(m('session'), true);
  assert.equal(m('test.log'), false);
  assert.equal(m('my.session'), false);
});

test('regexes with capture groups and backreferences are kept apart from other patterns', () => {
  const m = compilePattern('x.* /(a)\\1/ /(?<n>b)\\k<n>/');
  assert.equal(m('aa'), true);
  assert.equal(m('bb'), true);
  assert.equal(m('x.y'), true);
  assert.equal(m('ab'), false);
});

test('a tag with a newline does not sneak past the anchors', () => {
  assert.equal(compilePattern('a')('a\n'), false);
  assert.equal(compilePattern('a.**')('a\nb'), false);
  assert.equal(compilePattern('**')('a\nb'), true);
  assert.equal(compilePattern('a**')('a\nb'), true);
});

test('glob characters are literal inside the tag', () => {
  // a tag that contains pattern syntax only matches where the pattern says so
  assert.equal(compilePattern('a.*')('a.*'), true);
  assert.equal(compilePattern('a.b')('a.*'), false);
  assert.equal(compilePattern('{a,b}')('{a,b}'), false);
});

test('matching is fast enough for the hot path', () => {
  // a guard against pathological compilation (e.g. exponential backtracking), not a timing assertion
  const m = compilePattern('a.**.b.**.c.**.d');
  const tag = 'a.' + 'x.'.repeat(200) + 'e';
  assert.equal(m(tag), false);
});
