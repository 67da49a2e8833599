// fluentd 1.15's filter_grep, table by table: the documented examples and the edge cases of its source
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGrep, GrepConfigError, type GrepSpec } from '../../src/filter/grep.js';

function kept(spec: GrepSpec, records: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const g = compileGrep(spec);
  return records.filter((r) => g.keep(r));
}

test("the documentation's example: two <regexp> (and), one <exclude>", () => {
  const spec: GrepSpec = {
    regexp: [
      { key: 'message', pattern: '/cool/' },
      { key: 'hostname', pattern: '/^web\\d+\\.example\\.com$/' },
    ],
    exclude: [{ key: 'message', pattern: '/uncool/' }],
  };
  const records = [
    { message: "It's cool outside today", hostname: 'web001.example.com' },
    { message: "That's not cool", hostname: 'web1337.example.com' },
    { message: 'I am cool but you are uncool', hostname: 'db001.example.com' },
    { hostname: 'web001.example.com' },
    { message: "It's cool outside today" },
  ];
  assert.deepEqual(kept(spec, records), records.slice(0, 2));
});

test('several <exclude>: any match drops (or)', () => {
  const spec: GrepSpec = {
    exclude: [
      { key: 'status_code', pattern: '/^5\\d\\d$/' },
      { key: 'url', pattern: '/\\.css$/' },
    ],
  };
  const records = [
    { status_code: '200', url: '/index.html' },
    { status_code: '500', url: '/index.html' },
    { status_code: 200, url: '/style.css' },
    { status_code: 503 },
  ];
  assert.deepEqual(kept(spec, records), [records[0]]);
});

test('<and> and <or> sections', () => {
  const and: GrepSpec = {
    and: [
      {
        regexp: [
          { key: 'price', pattern: '/[1-9]\\d*/' },
          { key: 'category', pattern: '/^(fruit|vegetable)$/' },
        ],
      },
    ],
  };
  const r1 = [
    { price: 100, category: 'fruit' },
    { price: 0, category: 'fruit' },
    { price: 10, category: 'toy' },
  ];
  assert.deepEqual(kept(and, r1), [r1[0]]);

  const or: GrepSpec = {
    or: [
      {
        regexp: [
          { key: 'price', pattern: '/[1-9]\\d*/' },
          { key: 'category', pattern: '/^(fruit|vegetable)$/' },
        ],
      },
    ],
  };
  assert.deepEqual(kept(or, r1), r1);
  assert.deepEqual(kept(or, [{ price: 0, category: 'toy' }]), []);

  // <and><exclude>: dropped only when all match
  const andExclude: GrepSpec = {
    and: [
      {
        exclude: [
          { key: 'event', pattern: '^db\\.session\\.query$' },
          { key: 'success', pattern: '^true$' },
        ],
      },
    ],
  };
  const r2 = [
    { event: 'db.session.query', success: true },
    { event: 'db.session.query', success: false },
    { event: 'user.login', success: true },
  ];
  assert.deepEqual(kept(andExclude, r2), r2.slice(1));

  // <or><exclude> joins the top-level excludes
  const orExclude: GrepSpec = {
    exclude: [{ key: 'a', pattern: 'x' }],
    or: [{ exclude: [{ key: 'b', pattern: 'y' }] }],
  };
  assert.deepEqual(kept(orExclude, [{ a: 'x' }, { b: 'y' }, { a: 'z', b: 'z' }]), [{ a: 'z', b: 'z' }]);
});

test('values are matched with to_s: missing keys read "", numbers, booleans, arrays and hashes as ruby prints them', () => {
  const cases: Array<[GrepSpec, Record<string, unknown>, boolean]> = [
    // a missing key is nil.to_s, "": a pattern that needs a character drops the record...
    [{ regexp: [{ key: 'user', pattern: '.' }] }, {}, false],
    // ...one that matches "" keeps it, and an exclude that matches "" drops it
    [{ regexp: [{ key: 'user', pattern: '^$' }] }, {}, true],
    [{ exclude: [{ key: 'user', pattern: '^$' }] }, {}, false],
    [{ exclude: [{ key: 'user', pattern: 'alice' }] }, {}, true],
    [{ regexp: [{ key: 'code', pattern: '^42$' }] }, { code: 42 }, true],
    [{ regexp: [{ key: 'ok', pattern: '^true$' }] }, { ok: true }, true],
    [{ regexp: [{ key: 'n', pattern: '^$' }] }, { n: null }, true],
    [{ regexp: [{ key: 'l', pattern: '^\\["a", "b"\\]$' }] }, { l: ['a', 'b'] }, true],
    [{ regexp: [{ key: 'h', pattern: '^\\{"k"=>1\\}$' }] }, { h: { k: 1 } }, true],
    [{ regexp: [{ key: 'f', pattern: '^1\\.5$' }] }, { f: 1.5 }, true],
  ];
  for (const [spec, record, want] of cases)
    assert.equal(compileGrep(spec).keep(record), want, `${JSON.stringify(spec)} on ${JSON.stringify(record)}`);
});

test('nested keys by record accessor; a step dig cannot take keeps the record, as fluentd does', () => {
  const spec: GrepSpec = { regexp: [{ key: '$.server_labels.env', pattern: '^prod$' }] };
  const cases: Array<[Record<string, unknown>, boolean]> = [
    [{ server_labels: { env: 'prod' } }, true],
    [{ server_labels: { env: 'dev' } }, false],
    [{ server_labels: {} }, false],
    [{}, false],
    [{ 'server_labels.env': 'prod' }, false],
    // "failed to grep events": logged and passed on
    [{ server_labels: 'a string' }, true],
  ];
  for (const [record, want] of cases) assert.equal(compileGrep(spec).keep(record), want, JSON.stringify(record));
  assert.equal(compileGrep({ regexp: [{ key: "$['a b'][0]", pattern: '^x$' }] }).keep({ 'a b': ['x'] }), true);
});

test('configs fluentd refuses at start', () => {
  const cases: Array<[GrepSpec, RegExp, string]> = [
    [
      {
        regexp: [
          { key: 'a', pattern: 'x' },
          { key: 'a', pattern: 'y' },
        ],
      },
      /Duplicate key: a/,
      'regexp #2',
    ],
    [
      {
        exclude: [
          { key: 'a', pattern: 'x' },
          { key: 'a', pattern: 'y' },
        ],
      },
      /Duplicate key: a/,
      'exclude #2',
    ],
    [
      { regexp: [{ key: 'a', pattern: 'x' }], and: [{ regexp: [{ key: 'a', pattern: 'y' }] }] },
      /Duplicate key in <and>: a/,
      'and #1 regexp #1',
    ],
    [
      { exclude: [{ key: 'a', pattern: 'x' }], or: [{ exclude: [{ key: 'a', pattern: 'y' }] }] },
      /Duplicate key in <or>: a/,
      'or #1 exclude #1',
    ],
    [
      { and: [{ regexp: [{ key: 'a', pattern: 'x' }], exclude: [{ key: 'b', pattern: 'y' }] }] },
      /Do not specify both <regexp> and <exclude> in <and>/,
      'and #1',
    ],
    [
      { or: [{ regexp: [{ key: 'a', pattern: 'x' }], exclude: [{ key: 'b', pattern: 'y' }] }] },
      /Do not specify both <regexp> and <exclude> in <or>/,
      'or #1',
    ],
    [{ regexp: [{ key: '$.', pattern: 'x' }] }, /empty keys/, 'regexp #1'],
    [{ regexp: [{ key: 'a', pattern: '(' }] }, /invalid regexp/, 'regexp #1'],
  ];
  for (const [spec, re, where] of cases) {
    assert.throws(
      () => compileGrep(spec),
      (err: unknown) => err instanceof GrepConfigError && re.test(err.message) && err.where === where,
      JSON.stringify(spec),
    );
  }
  // the same key in different groups is fine: a regexp and an exclude, or <and> regexp beside an <or> regexp
  compileGrep({ regexp: [{ key: 'a', pattern: 'x' }], exclude: [{ key: 'a', pattern: 'y' }] });
  compileGrep({ and: [{ regexp: [{ key: 'a', pattern: 'x' }] }], or: [{ regexp: [{ key: 'a', pattern: 'y' }] }] });
});
