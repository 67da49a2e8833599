// fluentd's record accessor: parsing (ported from test/plugin_helper/test_record_accessor.rb) and dig semantics
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessorSyntaxError, DigError, deletePath, getPath, parseAccessor } from '../../src/filter/accessor.js';

test('parse: dot and bracket notation give the same paths as fluentd', () => {
  const cases: Array<[string, Array<string | number>]> = [
    ['key1', ['key1']],
    ['$.key1', ['key1']],
    ['$.key1.key2', ['key1', 'key2']],
    ['$.key1[0]', ['key1', 0]],
    ['$.key1[0].key2', ['key1', 0, 'key2']],
    ['$.key1[0][1]', ['key1', 0, 1]],
    ['$.key1[-1]', ['key1', -1]],
    ["$['key1']", ['key1']],
    ["$['key1'][0]['ke y2']", ['key1', 0, 'ke y2']],
    ['$["key1"]["key2"]', ['key1', 'key2']],
    ["$['dot.key']", ['dot.key']],
    ['@timestamp', ['@timestamp']],
    // not an accessor: one top-level key, written as it is
    ['a.b', ['a.b']],
    ['$a', ['$a']],
  ];
  for (const [param, keys] of cases) assert.deepEqual(parseAccessor(param).keys, keys, param);
});

test('parse: the syntax fluentd refuses', () => {
  const cases: Array<[string, RegExp]> = [
    ['$.', /empty keys in dot notation/],
    ['$.key1[0', /'\[' found but '\]' not found/],
    ['$.key1[0]x', /found more characters after '\]'/],
    ['$.key1[]', /missing array index/],
    ['$.key1[a]', /invalid value for Integer/],
    ['$.ke y', /whitespace character is not allowed in dot notation/],
    ["$['key1'", /Incomplete bracket/],
    ['$[\'key1"]', /Mismatched quotes/],
    ["$['key1']x", /found more characters after '\]'/],
  ];
  for (const [param, re] of cases) assert.throws(() => parseAccessor(param), AccessorSyntaxError, param);
  for (const [param, re] of cases) assert.throws(() => parseAccessor(param), re, param);
});

test('get: ruby Hash#dig semantics', () => {
  const r = { a: { b: [10, { c: 'x' }] }, s: 'str', n: null, 'a.b': 'flat' };
  const cases: Array<[string, unknown]> = [
    ['$.a.b[0]', 10],
    ['$.a.b[-1].c', 'x'],
    ['$.a.b[5]', undefined],
    ['$.a.missing.deeper', undefined],
    ['$.n.x', undefined],
    ['a.b', 'flat'],
    ['$.a.b', [10, { c: 'x' }]],
    ['constructor', undefined],
  ];
  for (const [param, want] of cases) assert.deepEqual(getPath(r, parseAccessor(param).keys), want, param);
  // dig raises on a step into a string or a string key on an array: fluentd's grep catches it
  assert.throws(() => getPath(r, parseAccessor('$.s.x').keys), DigError);
  assert.throws(() => getPath(r, parseAccessor('$.a.b.c').keys), DigError);
});

test('delete: nested keys and array items; the record is never written', () => {
  const r = { a: { b: 1, c: 2 }, list: [1, 2, 3], s: 'x' };
  const frozen = structuredClone(r);
  assert.deepEqual(deletePath(r, parseAccessor('$.a.b').keys), { a: { c: 2 }, list: [1, 2, 3], s: 'x' });
  assert.deepEqual(deletePath(r, parseAccessor('$.list[1]').keys), { a: { b: 1, c: 2 }, list: [1, 3], s: 'x' });
  assert.deepEqual(deletePath(r, parseAccessor('$.list[-1]').keys), { a: { b: 1, c: 2 }, list: [1, 2], s: 'x' });
  assert.deepEqual(deletePath(r, parseAccessor('s').keys), { a: { b: 1, c: 2 }, list: [1, 2, 3] });
  // a missing parent, or a step dig cannot take: nothing happens
  assert.equal(deletePath(r, parseAccessor('$.x.y').keys), r);
  assert.equal(deletePath(r, parseAccessor('$.s.y').keys), r);
  assert.deepEqual(r, frozen);
});
