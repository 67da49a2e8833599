// the ruby behaviours the filters rely on: to_s of json values, to_f, and fluentd's :regexp type in JS
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fluentRegexp, rubySplitDot, rubyTimeToS, rubyToF, rubyToS } from '../../src/filter/ruby.js';

test('to_s: what grep matches and placeholders interpolate', () => {
  const cases: Array<[unknown, string]> = [
    [undefined, ''],
    [null, ''],
    ['text', 'text'],
    [42, '42'],
    [-7, '-7'],
    [1.5, '1.5'],
    [0.0001, '0.0001'],
    [0.00001, '1.0e-05'],
    [1e20, '100000000000000000000'],
    [1.5e20, '150000000000000000000'],
    [true, 'true'],
    [false, 'false'],
    [[1, 'a', null], '[1, "a", nil]'],
    [{ a: 1, b: 'x"y' }, '{"a"=>1, "b"=>"x\\"y"}'],
    [{}, '{}'],
    [[], '[]'],
    [['#{x}'], '["\\#{x}"]'],
    [{ n: { m: [true] } }, '{"n"=>{"m"=>[true]}}'],
  ];
  for (const [v, want] of cases) assert.equal(rubyToS(v), want, JSON.stringify(v));
});

test('to_f: leading numbers of strings, else 0', () => {
  const cases: Array<[unknown, number]> = [
    ['1700000000.5', 1700000000.5],
    ['12abc', 12],
    ['abc', 0],
    ['', 0],
    [' 3', 3],
    [null, 0],
    [1700000000, 1700000000],
    ['1_000', 1000],
    ['1e3', 1000],
  ];
  for (const [v, want] of cases) assert.equal(rubyToF(v), want, JSON.stringify(v));
  assert.throws(() => rubyToF(true), /undefined method `to_f' for true/);
  assert.throws(() => rubyToF({}), /for Hash/);
});

test("fluentd's :regexp values read as ruby does", () => {
  const cases: Array<[string, string, boolean]> = [
    ['^user\\.', 'user.login', true],
    ['^user\\.', 'xuser.login', false],
    ['/^USER/i', 'user.login', true],
    ['/^USER/', 'user.login', false],
    // ruby's ^ and $ match at every line
    ['^b$', 'a\nb\nc', true],
    ['\\Ab$', 'a\nb', false],
    ['\\Aa', 'a\nb', true],
    ['a\\z', 'b\na', true],
    ['a\\z', 'a\nb', false],
    ['a\\Z', 'a\n', true],
    // . does not cross lines unless /m
    ['a.b', 'a\nb', false],
    ['/a.b/m', 'a\nb', true],
    ['\\h+$', 'deadBEEF', true],
    ['^[[:digit:]]+$', '123', true],
    ['^[[:alpha:]]+$', 'ab1', false],
    ['(?<word>\\w+)', 'x', true],
    // the legacy regexpN's leading slash, escaped by migrate
    ['\\/var/', '/var/log', true],
  ];
  for (const [re, s, want] of cases) assert.equal(fluentRegexp(re).test(s), want, `${re} on ${JSON.stringify(s)}`);
  assert.throws(() => fluentRegexp('/abc/xyzw'), /missing right slash/);
  assert.throws(() => fluentRegexp('(?i)abc'), /inline options/);
  assert.throws(() => fluentRegexp('(?>a)'), /atomic groups/);
  assert.throws(() => fluentRegexp('a++'), /possessive/);
  assert.throws(() => fluentRegexp('(a'), /invalid regexp/);
});

test('tag split and Time#to_s', () => {
  assert.deepEqual(rubySplitDot('a.b.c'), ['a', 'b', 'c']);
  assert.deepEqual(rubySplitDot('a..b.'), ['a', '', 'b']);
  assert.deepEqual(rubySplitDot(''), []);
  const t = Date.UTC(2010, 4, 4, 3, 2, 1, 500);
  const off = -new Date(t).getTimezoneOffset();
  if (off === 0) assert.equal(rubyTimeToS(t), '2010-05-04 03:02:01 +0000');
  else assert.match(rubyTimeToS(t), /^2010-05-0\d \d\d:\d\d:01 [+-]\d{4}$/);
});
