import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/errors.js';
import { SITES } from '../../../src/sinks/datadog/limits.js';
import { parseIntakeUrl, parseSite, resolveIntake } from '../../../src/sinks/datadog/site.js';

test('every site maps to its logs intake and api host', () => {
  const table: Array<[string, string, string]> = [
    ['datadoghq.com', 'https://http-intake.logs.datadoghq.com', 'https://api.datadoghq.com'],
    ['us3.datadoghq.com', 'https://http-intake.logs.us3.datadoghq.com', 'https://api.us3.datadoghq.com'],
    ['us5.datadoghq.com', 'https://http-intake.logs.us5.datadoghq.com', 'https://api.us5.datadoghq.com'],
    ['datadoghq.eu', 'https://http-intake.logs.datadoghq.eu', 'https://api.datadoghq.eu'],
    ['ap1.datadoghq.com', 'https://http-intake.logs.ap1.datadoghq.com', 'https://api.ap1.datadoghq.com'],
    ['ap2.datadoghq.com', 'https://http-intake.logs.ap2.datadoghq.com', 'https://api.ap2.datadoghq.com'],
    ['uk1.datadoghq.com', 'https://http-intake.logs.uk1.datadoghq.com', 'https://api.uk1.datadoghq.com'],
    ['ddog-gov.com', 'https://http-intake.logs.ddog-gov.com', 'https://api.ddog-gov.com'],
    ['us2.ddog-gov.com', 'https://http-intake.logs.us2.ddog-gov.com', 'https://api.us2.ddog-gov.com'],
  ];
  assert.equal(table.length, SITES.length);
  for (const [site, intake, api] of table) {
    assert.deepEqual(resolveIntake({ site }), { site, intakeBaseUrl: intake, apiBaseUrl: api });
  }
});

test('site names are trimmed and case-insensitive; no site means US1', () => {
  assert.equal(parseSite(' DatadogHQ.EU '), 'datadoghq.eu');
  assert.equal(resolveIntake({}).intakeBaseUrl, 'https://http-intake.logs.datadoghq.com');
});

test('an unknown site is a ConfigError that lists the valid sites', () => {
  for (const bad of ['datadoghq.co', 'us4.datadoghq.com', '', 'http-intake.logs.datadoghq.com']) {
    assert.throws(
      () => parseSite(bad),
      (err: unknown) =>
        err instanceof ConfigError && err.code === 'TDF_CONFIG' && SITES.every((s) => err.message.includes(s)),
      bad,
    );
  }
});

test('an explicit url wins over the site and is normalised to a base', () => {
  const table: Array<[string, string]> = [
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['https://proxy.example.com:8443/datadog/', 'https://proxy.example.com:8443/datadog'],
    ['https://http-intake.logs.datadoghq.eu/api/v2/logs', 'https://http-intake.logs.datadoghq.eu'],
    ['HTTPS://Proxy.Example.com', 'https://proxy.example.com'],
  ];
  for (const [input, base] of table) {
    assert.deepEqual(
      resolveIntake({ site: 'datadoghq.eu', url: input }),
      { site: null, intakeBaseUrl: base, apiBaseUrl: base },
      input,
    );
  }
  // an empty url means "not set"
  assert.equal(resolveIntake({ site: 'datadoghq.eu', url: '  ' }).site, 'datadoghq.eu');
});

test('bad explicit urls are refused with a reason, never echoing credentials', () => {
  const table: Array<[string, RegExp]> = [
    ['not a url', /not a valid url/],
    ['ftp://example.com', /must use http or https/],
    ['https://user:hunter2@proxy.example.com', /must not contain credentials/],
    ['https://proxy.example.com/?ddtags=a', /query or fragment/],
    ['https://proxy.example.com/#x', /query or fragment/],
  ];
  for (const [input, re] of table) {
    assert.throws(
      () => parseIntakeUrl(input),
      (err: unknown) => err instanceof ConfigError && re.test(err.message) && !err.message.includes('hunter2'),
      input,
    );
  }
});

test('an invalid intake url never shows the credentials written in it', () => {
  for (const value of [
    'ftp://proxy-user:hunter2-secret@proxy.example.com/',
    'https://proxy-user:hunter2-secret@exa mple.com:99999/',
  ]) {
    assert.throws(
      () => parseIntakeUrl(value),
      (err: Error) => {
        assert.ok(!err.message.includes('hunter2-secret') && !err.message.includes('proxy-user'), err.message);
        assert.match(err.message, /\*\*\*@/);
        return true;
      },
    );
  }
});
