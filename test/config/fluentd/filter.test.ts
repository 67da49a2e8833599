// fluent.conf's <filter> sections through migrate: what is carried over as [[filter]] tables (and loads), what
// fluentd itself refuses or needs ruby (refused with the file, line and reason), what is noted
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FluentConfigError } from '../../../src/errors.js';
import { createFilterChain } from '../../../src/filter/chain.js';
import { API_KEY, hasNote, migrateAndLoad, withSource } from '../../helpers/migrate.js';

// the source takes lines 1-10, the match the 3 lines after the filters
const MATCH = ['<match **>', '  @type datadog', `  api_key ${API_KEY}`, '</match>'];

const migrate = (...filterLines: string[]) => migrateAndLoad({ fluentConf: withSource(...filterLines, ...MATCH) });

test('grep: sections, legacy regexpN/excludeN and and/or carried over and behaving as in fluentd', () => {
  const { c } = migrate(
    '<filter events.log test.log>',
    '  @type grep',
    '  regexp1 event ^user\\.',
    '  exclude1 path /var/',
    '  <exclude>',
    '    key user',
    '    pattern /^bot-/i',
    '  </exclude>',
    '  <and>',
    '    <exclude>',
    '      key success',
    '      pattern ^true$',
    '    </exclude>',
    '    <exclude>',
    '      key $.server_labels.env',
    '      pattern ^dev$',
    '    </exclude>',
    '  </and>',
    '</filter>',
  );
  assert.equal(c.filters.length, 1);
  const chain = createFilterChain(c.filters, { hostname: 'h' });
  const recs = [
    { event: 'user.login', user: 'alice' },
    { event: 'session.start', user: 'alice' },
    { event: 'user.login', user: 'BOT-1' },
    // the legacy pattern "/var/" is a bare Regexp.compile: it matches the text /var/
    { event: 'user.login', user: 'a', path: '/var/log' },
    { event: 'user.login', user: 'a', success: true, server_labels: { env: 'dev' } },
    { event: 'user.login', user: 'a', success: true, server_labels: { env: 'prod' } },
  ];
  const out = chain.apply(recs.map((record) => ({ tag: 'events.log', time: 0, record })));
  assert.deepEqual(
    out.map((o) => o.record),
    [recs[0], recs[5]],
  );
});

test('record_transformer: every directive carried over; the json value and placeholders expand as in fluentd', () => {
  const { c, r } = migrate(
    '<filter **>',
    '  @type record_transformer',
    '  @id add_fields',
    '  renew_record true',
    '  keep_keys event, user',
    '  remove_keys ["$.meta.secret"]',
    '  renew_time_key ts',
    '  auto_typecast false',
    '  <record>',
    '    cluster ${record["cluster_name"]}',
    '    meta {"secret":"s","tag":"${tag}"}',
    '    ts ${record["t"]}',
    '  </record>',
    '</filter>',
  );
  hasNote(r.notes, 'info', 'fluent.conf:13', /"@id" of <filter \*\*> @type record_transformer is not needed/);
  const chain = createFilterChain(c.filters, { hostname: 'h' });
  const [out] = chain.apply([
    { tag: 'a.b', time: 0, record: { event: 'x', user: 'u', other: 1, cluster_name: 'c', t: 1700000000 } },
  ]);
  assert.deepEqual(out, {
    tag: 'a.b',
    time: 1700000000000,
    record: { event: 'x', user: 'u', cluster: 'c', meta: { tag: 'a.b' }, ts: '1700000000' },
  });
});

test('enable_ruby: record access carried over; other ruby refused with the line', () => {
  const { c } = migrate(
    '<filter **>',
    '  @type record_transformer',
    '  enable_ruby true',
    '  <record>',
    '    env ${record["labels"]["env"]}',
    '    first ${record.dig("list", 0)}',
    '  </record>',
    '</filter>',
  );
  const [out] = createFilterChain(c.filters, { hostname: 'h' }).apply([
    { tag: 't', time: 0, record: { labels: { env: 'prod' }, list: ['a'] } },
  ]);
  assert.deepEqual(out!.record, { labels: { env: 'prod' }, list: ['a'], env: 'prod', first: 'a' });

  assert.throws(
    () =>
      migrate(
        '<filter **>',
        '  @type record_transformer',
        '  enable_ruby true',
        '  <record>',
        '    up ${record["user"].upcase}',
        '  </record>',
        '</filter>',
      ),
    (err: unknown) =>
      err instanceof FluentConfigError &&
      err.line === 15 &&
      /\$\{record\["user"\]\.upcase\} needs ruby to be evaluated/.test(err.message),
  );
});

test('configs fluentd refuses, and #{…} ruby, stop the migration with the file, line and reason', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [
      ['<filter **>', '  @type record_transformer', '  keep_keys a', '</filter>'],
      13,
      /`renew_record` must be true to use `keep_keys`/,
    ],
    [
      [
        '<filter **>',
        '  @type grep',
        '  <regexp>',
        '    key a',
        '    pattern x',
        '  </regexp>',
        '  <regexp>',
        '    key a',
        '    pattern y',
        '  </regexp>',
        '</filter>',
      ],
      11,
      /regexp #2: Duplicate key: a \(Fluentd refuses this config too\)/,
    ],
    [
      [
        '<filter **>',
        '  @type grep',
        '  <or>',
        '    <regexp>',
        '      key a',
        '      pattern x',
        '    </regexp>',
        '    <exclude>',
        '      key b',
        '      pattern y',
        '    </exclude>',
        '  </or>',
        '</filter>',
      ],
      11,
      /Do not specify both <regexp> and <exclude> in <or>/,
    ],
    [['<filter **>', '  @type grep', '  regexp1 onlykey', '</filter>'], 13, /regexp1 does not contain 2 parameters/],
    [
      ['<filter **>', '  @type grep', '  regexp1 a x', '  regexp2 a y', '</filter>'],
      14,
      /regexp2 contains a duplicated key, a/,
    ],
    [
      ['<filter **>', '  @type grep', '  <regexp>', '    key a', '  </regexp>', '</filter>'],
      13,
      /'pattern' parameter is required/,
    ],
    [
      ['<filter **>', '  @type record_transformer', '  <record>', '    x "#{`id`}"', '  </record>', '</filter>'],
      14,
      /holds #\{`id`\}, ruby that fluentd evaluates when it reads the file/,
    ],
    [['<filter **>', '  @type record_transformer', '  renew_record maybe', '</filter>'], 13, /not a valid boolean/],
  ];
  for (const [lines, line, re] of cases) {
    assert.throws(
      () => migrate(...lines),
      (err: unknown) =>
        err instanceof FluentConfigError &&
        err.line === line &&
        re.test(err.message) &&
        /fluent\.conf:\d+/.test(err.message),
      lines.join(' / '),
    );
  }
});

test('other filter types are noted as not carried over; a filter after an overlapping match is warned about', () => {
  const { r, c } = migrate(
    '<filter **>',
    '  @type parser',
    '  key_name log',
    '</filter>',
    '<filter **>',
    '  @type stdout',
    '</filter>',
  );
  assert.deepEqual(c.filters, []);
  hasNote(r.notes, 'warn', 'fluent.conf:11', /<filter \*\*> @type parser is not carried over/);
  hasNote(r.notes, 'info', 'fluent.conf:15', /@type stdout is not carried over/);
});

test('a filter after a <match> skips the tags that match takes, as in fluentd where those records never reach it', () => {
  const { r, c } = migrate(
    '<match debug.**>',
    '  @type null',
    '</match>',
    '<filter **>',
    '  @type record_transformer',
    '  <record>',
    '    seen yes',
    '  </record>',
    '</filter>',
  );
  hasNote(r.notes, 'info', 'fluent.conf:14', /comes after <match debug\.\*\*> .*skips those tags \(unless-pattern\)/);
  assert.equal(c.filters[0]!.unless, 'debug.**');
  const chain = createFilterChain(c.filters, { hostname: 'h' });
  const out = chain.apply([
    { tag: 'debug.x', time: 0, record: {} },
    { tag: 'test.log', time: 0, record: {} },
  ]);
  assert.deepEqual(
    out.map((o) => o.record),
    [{}, { seen: 'yes' }],
  );
});
