import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeFluentConf, parseFluentConf } from '../../../src/config/fluentd/parser.js';
import { evalRuby } from '../../../src/config/fluentd/ruby.js';
import { getParam, sectionType, type FluentSection } from '../../../src/config/fluentd/tree.js';
import { ConfigError, FluentConfigError } from '../../../src/errors.js';

const parse = (text: string, env: Record<string, string> = {}) => parseFluentConf(text, { file: 'fluent.conf', env });
const val = (s: FluentSection, key: string) => getParam(s, key)?.value;

/** the error parseFluentConf throws for text */
function parseError(text: string): FluentConfigError {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof FluentConfigError, `expected a FluentConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a parse error');
}

test('sections nest, keep their args and where they start', () => {
  const { root } = parse(
    [
      '<source>',
      '  @type http',
      '  port 8888',
      '  <transport tls>',
      '    ca_path /keys/ca.crt',
      '  </transport>',
      '</source>',
      '',
      '<match a.** b.*>',
      '  @type copy',
      '  <store ignore_error>',
      '    @type null',
      '  </store>',
      '</match>',
    ].join('\n'),
  );
  assert.deepEqual(
    root.sections.map((s) => [s.name, s.arg, s.line]),
    [
      ['source', '', 1],
      ['match', 'a.** b.*', 9],
    ],
  );
  const src = root.sections[0]!;
  assert.equal(sectionType(src), 'http');
  assert.equal(val(src, 'port'), '8888');
  assert.equal(getParam(src, 'port')!.line, 3);
  const tls = src.sections[0]!;
  assert.deepEqual([tls.name, tls.arg, tls.line, val(tls, 'ca_path')], ['transport', 'tls', 4, '/keys/ca.crt']);
  const store = root.sections[1]!.sections[0]!;
  assert.deepEqual([store.name, store.arg, sectionType(store)], ['store', 'ignore_error', 'null']);
  assert.equal(getParam(store, '@type')!.file, 'fluent.conf');
});

test('bare values: trailing blanks and comments go, a # inside a word or first stays, no value is empty', () => {
  const { root } = parse(
    [
      '<match x>',
      '  a   some value with spaces   ',
      '  b value # a comment',
      '  c color#1',
      '  d',
      '  e # only a comment',
      '  f\t%Y-%m-%dT%H:%M:%S\r',
      '  # a whole-line comment',
      '  a last wins',
      '</match>',
    ].join('\n'),
  );
  const m = root.sections[0]!;
  assert.equal(val(m, 'a'), 'last wins');
  assert.equal(m.params.filter((p) => p.key === 'a').length, 2);
  assert.equal(val(m, 'b'), 'value');
  assert.equal(val(m, 'c'), 'color#1');
  assert.equal(val(m, 'd'), '');
  assert.equal(val(m, 'e'), '# only a comment', 'fluentd reads a value that starts with # as it is');
  assert.equal(val(m, 'f'), '%Y-%m-%dT%H:%M:%S');
  assert.equal(getParam(m, 'a')!.line, 9);
});

test("double quotes: escapes, kept newlines, backslash-newline joins lines; single quotes only escape ' and \\\\", () => {
  const { root } = parse(
    [
      '<match x>',
      '  a "tab\\there \\"q\\" back\\\\slash \\# not a comment" # comment',
      '  b "first \\',
      'second"',
      '  c "line one',
      'line two"',
      "  d 'it\\'s \\n raw \\\\ #{ENV[\"X\"]}'",
      '  e "#{ENV[\'X\']}"',
      '  after true',
      '</match>',
    ].join('\n'),
    { X: 'ex' },
  );
  const m = root.sections[0]!;
  assert.equal(val(m, 'a'), 'tab\there "q" back\\slash # not a comment');
  assert.equal(val(m, 'b'), 'first second');
  assert.equal(val(m, 'c'), 'line one\nline two');
  assert.equal(val(m, 'd'), 'it\'s \\n raw \\ #{ENV["X"]}');
  assert.equal(getParam(m, 'd')!.quote, "'");
  assert.equal(val(m, 'e'), 'ex');
  // line numbers keep counting through multi-line values
  assert.equal(getParam(m, 'after')!.line, 9);
});

test('json values may span lines and carry comments', () => {
  const { root } = parse(
    [
      '<match x>',
      '  headers {"X-A": "a # not a comment",   # a comment',
      '           "X-B": ["b", "}"]}',
      '  list [1, 2]',
      '  next 1',
      '</match>',
    ].join('\n'),
  );
  const m = root.sections[0]!;
  assert.deepEqual(JSON.parse(val(m, 'headers')!), { 'X-A': 'a # not a comment', 'X-B': ['b', '}'] });
  assert.equal(getParam(m, 'headers')!.quote, 'json');
  assert.equal(val(m, 'list'), '[1,2]');
  assert.equal(getParam(m, 'next')!.line, 5);
});

test('embedded ruby: ENV lookups from the given env, fallbacks, and anything else left as written', () => {
  const env = { DD: 'key-1', SITE: 'datadoghq.eu', EMPTY: '' };
  const { root } = parse(
    [
      '<match x>',
      '  a "#{ENV["DD"]}"',
      "  b \"#{ENV.fetch('MISSING', 'fallback')}\"",
      "  c \"prefix-#{ENV['SITE']}-#{ENV['MISSING']}\"",
      "  d \"#{ENV['MISSING'] || 'dflt'}\"",
      "  e \"#{ENV['EMPTY'] || 'dflt'}\"",
      '  f "#{Socket.gethostname}"',
      '  g "#{ENV.fetch(\'MISSING\')}"',
      "  h #{ENV['DD']}",
      "  i \"#{ENV['SITE'] || ENV['OTHER']}\"",
      '</match>',
    ].join('\n'),
    env,
  );
  const m = root.sections[0]!;
  assert.equal(val(m, 'a'), 'key-1');
  assert.equal(getParam(m, 'a')!.envVar, 'DD');
  assert.equal(val(m, 'b'), 'fallback');
  assert.equal(getParam(m, 'b')!.envVar, undefined);
  assert.equal(val(m, 'c'), 'prefix-datadoghq.eu-');
  assert.deepEqual(
    getParam(m, 'c')!.embedded!.map((e) => [e.env, e.unset]),
    [
      [['SITE'], []],
      [['MISSING'], ['MISSING']],
    ],
  );
  assert.equal(getParam(m, 'c')!.envVar, undefined);
  assert.equal(val(m, 'd'), 'dflt');
  assert.equal(val(m, 'e'), '', 'an empty string is true in ruby');
  assert.equal(val(m, 'f'), '#{Socket.gethostname}');
  assert.equal(getParam(m, 'f')!.embedded![0]!.resolved, false);
  assert.equal(val(m, 'g'), "#{ENV.fetch('MISSING')}", 'fetch without a default would raise: left unresolved');
  assert.equal(getParam(m, 'g')!.embedded![0]!.resolved, false);
  assert.equal(val(m, 'h'), "#{ENV['DD']}", 'bare values are not evaluated');
  assert.deepEqual(getParam(m, 'i')!.embedded![0]!.env, ['SITE'], 'the right side of a satisfied || is not looked up');
  assert.deepEqual(evalRuby('File.read("/etc/passwd")', {}), { ok: false, env: [], unset: [] });
  assert.deepEqual(evalRuby('  ENV[ "A" ]  ', { A: 'x' }), { ok: true, value: 'x', env: ['A'], unset: [] });
});

test('errors name the file and line', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['<source>\n  @type http\n\n<match x>\n</match>\n', 1, /<source> is never closed: expected <\/source>/],
    ['<match a>\n  @type null\n</store>\n', 3, /<\/store> does not close <match> \(opened at line 1\)/],
    ['@type x\n</match>\n', 2, /<\/match> closes nothing/],
    ['<match a>\n  key "unterminated\n</match>\n', 2, /double-quoted value is never closed/],
    ["<match a>\n  key 'no\n</match>\n", 2, /single-quoted value is never closed/],
    ['<match a>\n  key "bad \\q escape"\n</match>\n', 2, /unknown escape/],
    ['<match a>\n  key "quoted" trailing\n</match>\n', 2, /unexpected text after the value of "key"/],
    ['<match a>\n\n  key {"a": 1,\n  "b": }\n</match>\n', 3, /not valid JSON/],
    ['<match a\n</match>\n', 1, /expected '>'/],
    ['<match a> extra\n</match>\n', 1, /end of the line after <match a>/],
    ["<match a>\n  key \"#{ENV['X']\n</match>\n", 2, /#\{…\} is never closed/],
  ];
  for (const [text, line, re] of cases) {
    const err = parseError(text);
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'TDF_CONFIG');
    assert.equal(err.file, 'fluent.conf', text);
    assert.equal(err.line, line, `${text}: ${err.message}`);
    assert.match(err.message, new RegExp(`^fluent\\.conf:${line}: `), text);
    assert.match(err.message, re, text);
  }
});

test('errors never show a secret value', () => {
  const err = parseError('<match a>\n  api_key "0123456789abcdef\\q"\n</match>\n');
  assert.doesNotMatch(err.message, /0123456789abcdef/);
});

test('@include: reported when no reader is given; inlined in place when one is', () => {
  const text = '<source>\n  @type http\n</source>\n@include extra.conf\n<match last>\n  @type null\n</match>\n';
  const noReader = parse(text);
  assert.equal(noReader.root.sections.length, 2);
  assert.deepEqual(
    noReader.diagnostics.map((d) => [d.level, d.line]),
    [['warn', 4]],
  );
  assert.match(noReader.diagnostics[0]!.message, /@include extra\.conf was not followed/);

  const files: Record<string, string> = {
    '/etc/fluent/extra.conf': '<match mid>\n  @type null\n</match>\n@include sub/more.conf\n',
    '/etc/fluent/sub/more.conf': '<match deeper>\n  @type null\n</match>\n',
  };
  const reads: Array<[string, string]> = [];
  const { root } = parseFluentConf(text, {
    file: '/etc/fluent/fluent.conf',
    include: (spec, from) => {
      reads.push([spec, from]);
      const file = from.replace(/[^/]+$/, '') + spec;
      return [{ file, text: files[file]! }];
    },
  });
  assert.deepEqual(
    root.sections.map((s) => s.arg),
    ['', 'mid', 'deeper', 'last'],
  );
  assert.deepEqual(reads, [
    ['extra.conf', '/etc/fluent/fluent.conf'],
    ['sub/more.conf', '/etc/fluent/extra.conf'],
  ]);
  assert.equal(root.sections[2]!.file, '/etc/fluent/sub/more.conf');
  assert.equal(root.sections[2]!.line, 1);

  assert.throws(
    () =>
      parseFluentConf('@include self.conf\n', {
        file: '/a/self.conf',
        include: () => [{ file: '/a/self.conf', text: '@include self.conf\n' }],
      }),
    (err: unknown) => err instanceof FluentConfigError && /include cycle/.test(err.message) && err.line === 1,
  );
  const url = parseFluentConf('@include https://example.com/f.conf\n', { file: 'f', include: () => null });
  assert.match(url.diagnostics[0]!.message, /only local files/);
});

test('looksLikeFluentConf tells fluent.conf from TOML', () => {
  assert.equal(looksLikeFluentConf('# generated\n\n<source>\n'), true);
  assert.equal(looksLikeFluentConf('@include a.conf\n'), true);
  assert.equal(looksLikeFluentConf('storage = "./storage"\n[ingest]\n'), false);
  assert.equal(looksLikeFluentConf(''), false);
});
