import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_HINT_MS,
  MAX_REASON_BODY,
  authRetryDelayMs,
  classifyError,
  classifyResponse,
  parseRetryAfter,
  retryDelayMs,
  retryHintMs,
} from '../../../src/sinks/datadog/classify.js';
import { IntakeNetworkError } from '../../../src/errors.js';
import { sinkEndpoint } from '../../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { ConfigError } from '../../../src/errors.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

test('status codes map to the documented outcomes', () => {
  const table: Array<[number, string, string | null]> = [
    [202, 'delivered', null],
    [400, 'refused', null],
    [404, 'auth', null], // a wrong url or proxy: held, never dead-lettered
    [405, 'auth', null],
    [407, 'auth', null],
    [409, 'retry', '4xx'],
    [422, 'refused', null],
    [413, 'too-large', null],
    [401, 'auth', null],
    [403, 'auth', null],
    [408, 'retry', '4xx'],
    [429, 'retry', '429'],
    [500, 'retry', '5xx'],
    [502, 'retry', '5xx'],
    [503, 'retry', '5xx'],
    [504, 'retry', '5xx'],
    [200, 'retry', 'other'], // only a 202 means datadog has the logs
    [204, 'retry', 'other'],
    [302, 'retry', 'other'],
  ];
  for (const [status, kind, retryClass] of table) {
    const outcome = classifyResponse(status, {}, '', NOW);
    assert.equal(outcome.kind, kind, String(status));
    if (outcome.kind === 'retry') assert.equal(outcome.retryClass, retryClass, String(status));
  }
});

test('the reason names the status and carries the body on one line, cut to a bound', () => {
  const body = '{"errors":[{"status":"400","title":"Bad Request",\n "detail":"entry 3 contains POISON"}]}';
  const outcome = classifyResponse(400, {}, body, NOW);
  assert.equal(outcome.kind, 'refused');
  assert.equal(
    outcome.kind === 'refused' && outcome.reason,
    'HTTP 400 Bad Request: {"errors":[{"status":"400","title":"Bad Request", "detail":"entry 3 contains POISON"}]}',
  );
  const long = classifyResponse(500, {}, 'y'.repeat(10_000), NOW);
  assert.ok(long.kind === 'retry' && long.reason.length <= MAX_REASON_BODY + 40);
  assert.equal((classifyResponse(413, {}, '', NOW) as { reason: string }).reason, 'HTTP 413 Payload Too Large');
});

test('transport errors are network retries with their message', () => {
  const outcome = classifyError(new IntakeNetworkError('no answer from http://x within 5 ms', { timeout: true }));
  assert.deepEqual(outcome, {
    kind: 'retry',
    retryClass: 'network',
    status: null,
    reason: 'no answer from http://x within 5 ms',
    hintMs: null,
  });
});

test('retry hints: Retry-After (seconds or date), then the rate-limit reset, then the period on a 429', () => {
  assert.equal(retryHintMs({ 'retry-after': '7' }, NOW, false), 7000);
  assert.equal(retryHintMs({ 'Retry-After': '2' }, NOW, false), 2000);
  assert.equal(retryHintMs({ 'retry-after': new Date(NOW + 30_000).toUTCString() }, NOW, false), 30_000);
  assert.equal(retryHintMs({ 'retry-after': new Date(NOW - 30_000).toUTCString() }, NOW, false), 0);
  assert.equal(retryHintMs({ 'x-ratelimit-reset': '3', 'x-ratelimit-period': '10' }, NOW, true), 3000);
  assert.equal(retryHintMs({ 'x-ratelimit-period': '10' }, NOW, true), 10_000);
  // a reset on a non-429 answer counts only when the limit is used up
  assert.equal(retryHintMs({ 'x-ratelimit-reset': '3' }, NOW, false), null);
  assert.equal(retryHintMs({ 'x-ratelimit-reset': '3', 'x-ratelimit-remaining': '0' }, NOW, false), 3000);
  assert.equal(retryHintMs({ 'x-ratelimit-period': '10' }, NOW, false), null);
  // garbage is ignored, huge values are bounded
  assert.equal(retryHintMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '-1' }, NOW, true), null);
  assert.equal(retryHintMs({ 'retry-after': '99999' }, NOW, false), MAX_HINT_MS);
  assert.equal(parseRetryAfter('1.5', NOW), 1500);
  assert.equal(parseRetryAfter(undefined, NOW), null);
});

test('429 and 503 carry their hints in the outcome', () => {
  const rl = classifyResponse(
    429,
    { 'x-ratelimit-reset': '4', 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '0' },
    '',
    NOW,
  );
  assert.ok(rl.kind === 'retry' && rl.hintMs === 4000);
  const busy = classifyResponse(503, { 'retry-after': '9' }, '', NOW);
  assert.ok(busy.kind === 'retry' && busy.hintMs === 9000);
});

test('retry delay: full jitter within an exponential window that stops at the cap', () => {
  const opts = { baseMs: 500, capMs: 60_000 };
  const windows = [500, 1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000];
  windows.forEach((window, attempt) => {
    assert.equal(retryDelayMs(attempt, { ...opts, random: () => 0 }), 0, `attempt ${attempt} low`);
    assert.equal(retryDelayMs(attempt, { ...opts, random: () => 0.5 }), window / 2, `attempt ${attempt} mid`);
    const high = retryDelayMs(attempt, { ...opts, random: () => 0.999999 });
    assert.ok(high < window && high >= window - 1, `attempt ${attempt} high ${high}`);
  });
  // no overflow for absurd attempt counts; bad random values are clamped
  assert.ok(retryDelayMs(10_000, { ...opts, random: () => 0.5 }) === 30_000);
  assert.equal(retryDelayMs(3, { ...opts, random: () => Number.NaN }), 0);
  assert.ok(retryDelayMs(3, { ...opts, random: () => 1 }) < 4000);
});

test('retry delay: a server hint is honoured (not capped by the backoff cap) plus a short jitter', () => {
  assert.equal(retryDelayMs(0, { baseMs: 500, capMs: 1000, hintMs: 5000, random: () => 0 }), 5000);
  assert.equal(retryDelayMs(9, { baseMs: 500, capMs: 1000, hintMs: 5000, random: () => 0.5 }), 5250);
  assert.equal(retryDelayMs(0, { baseMs: 5000, capMs: 60_000, hintMs: 1000, random: () => 0.5 }), 1500);
  assert.equal(retryDelayMs(0, { baseMs: 500, capMs: 1000, hintMs: 10 * MAX_HINT_MS, random: () => 0 }), MAX_HINT_MS);
  assert.equal(retryDelayMs(2, { baseMs: 500, capMs: 60_000, hintMs: null, random: () => 0.5 }), 1000);
});

test('auth retries are slow: between base and twice base', () => {
  assert.equal(
    authRetryDelayMs(30_000, () => 0),
    30_000,
  );
  assert.equal(
    authRetryDelayMs(30_000, () => 0.5),
    45_000,
  );
  assert.ok(authRetryDelayMs(30_000, () => 0.999999) < 60_000);
});

test('the sink checks what the schema cannot: a key, and room for the array within the payload limit', () => {
  const ok = { ...sectionDefaults('datadog'), apiKey: 'k', url: 'http://127.0.0.1:1' };
  assert.equal(sinkEndpoint(ok).intakeBaseUrl, 'http://127.0.0.1:1');
  assert.equal(sinkEndpoint({ ...ok, url: undefined }).site, 'datadoghq.com');
  // 1000 logs need 1001 bytes of brackets and commas; 10 need 11
  assert.doesNotThrow(() => sinkEndpoint({ ...ok, batchMaxBytes: 5_000_000 - 1001 }));
  assert.doesNotThrow(() => sinkEndpoint({ ...ok, batchMaxEntries: 10, batchMaxBytes: 5_000_000 - 11 }));
  const bad: Array<[object, RegExp]> = [
    [{ apiKey: '' }, /apiKey is missing/],
    [{ apiKey: undefined }, /apiKey is missing/],
    [{ batchMaxBytes: 5_000_000 - 1000 }, /batchMaxBytes must be a whole number from 1 to 4998999/],
    [{ batchMaxEntries: 10, batchMaxBytes: 5_000_000 - 10 }, /batchMaxBytes must be a whole number from 1 to 4999989/],
    [{ url: undefined, site: 'datadoghq.org' }, /unknown Datadog site/],
  ];
  for (const [options, re] of bad) {
    assert.throws(
      () => sinkEndpoint({ ...ok, ...options }),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
      re.source,
    );
  }
});
