import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseToml } from 'smol-toml';
import { MigrationContext, type TomlValue } from '../../../src/config/fluentd/context.js';
import { emit, entryLine, tomlString, tomlValue } from '../../../src/config/fluentd/toml.js';

test('tomlString: a basic string that reads back as the same text; lone surrogates become U+FFFD', () => {
  const cases: Array<[input: string, written: string, readBack: string]> = [
    ['plain', '"plain"', 'plain'],
    ['', '""', ''],
    ['say "hi"', '"say \\"hi\\""', 'say "hi"'],
    ['C:\\dir', '"C:\\\\dir"', 'C:\\dir'],
    ['a\nb\tc\r', '"a\\nb\\tc\\r"', 'a\nb\tc\r'],
    ['\u0000\u001f', '"\\u0000\\u001f"', '\u0000\u001f'],
    ['del\x7f', '"del\\u007F"', 'del\x7f'],
    ['é ✓ 😀', '"é ✓ 😀"', 'é ✓ 😀'],
    ['lone \uD800 high', '"lone \uFFFD high"', 'lone \uFFFD high'],
    ['lone \uDC00 low', '"lone \uFFFD low"', 'lone \uFFFD low'],
    ['#{ENV["X"]}', '"#{ENV[\\"X\\"]}"', '#{ENV["X"]}'],
  ];
  for (const [input, written, readBack] of cases) {
    assert.equal(tomlString(input), written, JSON.stringify(input));
    assert.equal(parseToml(`v = ${written}`).v, readBack, JSON.stringify(input));
  }
});

test('tomlValue and entryLine: each kind of value in toml syntax', () => {
  const cases: Array<[value: TomlValue, written: string]> = [
    ['x', '"x"'],
    [8888, '8888'],
    [0, '0'],
    [true, 'true'],
    [false, 'false'],
    [[], '[]'],
    [['a', 'b "c"'], '["a", "b \\"c\\""]'],
    [new Date('2026-01-02T03:04:05.000Z'), '"2026-01-02T03:04:05.000Z"'],
  ];
  for (const [value, written] of cases) {
    assert.equal(tomlValue(value), written, String(value));
    assert.equal(entryLine({ key: 'k', value }), `k = ${written}`);
  }
});

test('emit: the header, then the top keys, tables in a fixed order, filters, rules, suggestions and notes', () => {
  const ctx = new MigrationContext({ fluentConf: '', fluentConfPath: '/etc/fluent/fluent.conf' });
  ctx.top.push({ key: 'storage', value: './storage' });
  ctx.table('custom', ['another table']).entries.push({ key: 'x', value: 1 });
  ctx.table('datadog', ['where logs go']).entries.push({ key: 'site', value: 'datadoghq.eu' });
  ctx.table('ingest', ['the ingest']).entries.push({ key: 'port', value: 8888 });
  ctx.filters.push({ table: { pattern: 'a.**', type: 'grep', exclude: [{ key: 'k', pattern: 'v' }] }, origin: 'grep' });
  ctx.rules.push({
    pattern: 'test.log',
    type: 'datadog',
    fields: [{ key: 'source', value: 'teleport' }],
    origin: 'r1',
  });
  ctx.rules.push({ pattern: 'debug.**', type: 'null', fields: [], origin: 'r2' });
  ctx.suggested.push({
    pattern: 'session.*.log',
    type: 'datadog',
    fields: [{ key: 'tags', value: ['a'] }],
    origin: 's',
  });
  ctx.notes.push({ level: 'info', where: 'fluent.conf:3', message: 'said' });
  const text = emit(ctx);
  assert.equal(
    text,
    [
      '# teleport-datadog-forwarder configuration, migrated by `teleport-datadog-forwarder migrate` from',
      '#   /etc/fluent/fluent.conf',
      '# paths from those files were made absolute; relative paths here are relative to this file.',
      '# secrets are not in this file: they are in the files it names (mode 0600) or in the environment.',
      '',
      '# the durable spool (records wait here until Datadog accepted them) and the Teleport cursors',
      'storage = "./storage"',
      '',
      '# the ingest',
      '[ingest]',
      'port = 8888',
      '',
      '# where logs go',
      '[datadog]',
      'site = "datadoghq.eu"',
      '',
      '# another table',
      '[custom]',
      'x = 1',
      '',
      '# grep',
      '[[filter]]',
      'pattern = "a.**"',
      'type = "grep"',
      '',
      '[[filter.exclude]]',
      'key = "k"',
      'pattern = "v"',
      '',
      '# r1',
      '[[match]]',
      'pattern = "test.log"',
      'source = "teleport"',
      '',
      '# r2',
      '[[match]]',
      'pattern = "debug.**"',
      'type = "null"',
      '',
      '# s',
      '# [[match]]',
      '# pattern = "session.*.log"',
      '# tags = ["a"]',
      '',
      '# not carried over, or changed (also printed by migrate):',
      '#   info fluent.conf:3: said',
      '',
    ].join('\n'),
  );
  const doc = parseToml(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc), ['storage', 'ingest', 'datadog', 'custom', 'filter', 'match']);
  assert.equal((doc.match as unknown[]).length, 2, 'the suggested rule is a comment');
});
