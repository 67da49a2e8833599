// the fake intake keeps datadog's rules, so tests and the benchmark that use it can be trusted
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, deflateSync } from 'node:zlib';
import { startFakeIntake, type FakeIntake } from '../../../src/fakes/intake.js';

const KEY = 'intake-key-1';

async function post(
  intake: FakeIntake,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`${intake.url}/api/v2/logs`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'dd-api-key': KEY, ...headers },
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

test('accepts arrays and single objects, plain, gzip or deflate, answering 202 {}', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  t.after(() => intake.close());
  assert.deepEqual(await post(intake, '[{"id":1},{"id":2}]').then((r) => [r.status, r.body]), [202, '{}']);
  assert.equal((await post(intake, '{"id":3}')).status, 202);
  assert.equal((await post(intake, gzipSync('[{"id":4}]'), { 'content-encoding': 'gzip' })).status, 202);
  assert.equal((await post(intake, deflateSync('[{"id":5}]'), { 'content-encoding': 'deflate' })).status, 202);
  assert.deepEqual(
    intake.logs.map((l) => l.id),
    [1, 2, 3, 4, 5],
  );
  assert.equal(intake.accepted, 4);
  assert.equal(intake.requests, 4);
  assert.deepEqual(
    intake.history.map((r) => r.contentEncoding),
    [null, null, 'gzip', 'deflate'],
  );
});

test('refuses what datadog refuses: bad key 403, bad encoding or json 400, over the limits 413', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  t.after(() => intake.close());
  assert.equal((await post(intake, '[{"a":1}]', { 'dd-api-key': 'wrong' })).status, 403);
  assert.equal((await post(intake, '[{"a":1}]', { 'dd-api-key': '' })).status, 403);
  const badGzip = await post(intake, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
  assert.equal(badGzip.status, 400);
  assert.match(badGzip.body, /could not decode gzip body/);
  assert.equal((await post(intake, '[{"a":1}', {})).status, 400);
  assert.equal((await post(intake, '[{"a":1}, 3]', {})).status, 400);
  const tooMany = await post(intake, JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ i }))));
  assert.equal(tooMany.status, 413);
  assert.match(tooMany.body, /1001 entries, over 1000/);
  assert.equal((await post(intake, JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ i }))))).status, 202);
  const big = JSON.stringify([{ pad: 'x'.repeat(5_000_000) }]);
  assert.equal((await post(intake, big)).status, 413);
  // the same over the limit once decompressed: a small gzip body does not get past the limit
  assert.equal((await post(intake, gzipSync(big), { 'content-encoding': 'gzip' })).status, 413);
  assert.equal(intake.logCount, 1000);
  assert.equal(intake.maxEntriesSeen, 1001);
  assert.equal(intake.rejected, 8);
});

test('api keys can be revoked and restored; GET /api/v1/validate answers like datadog', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  t.after(() => intake.close());
  const validate = async (key: string) => {
    const res = await fetch(`${intake.url}/api/v1/validate`, { headers: { 'dd-api-key': key } });
    return [res.status, await res.json()];
  };
  assert.deepEqual(await validate(KEY), [200, { valid: true }]);
  assert.equal((await validate('nope'))[0], 403);
  intake.setApiKeys([]);
  assert.equal((await post(intake, '[{"a":1}]')).status, 403);
  intake.setApiKeys(null); // any non-empty key
  assert.equal((await post(intake, '[{"a":1}]', { 'dd-api-key': 'anything' })).status, 202);
});

test('faults are used in order, with their headers and bodies; poison makes a 400 naming it', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  t.after(() => intake.close());
  intake.inject({ status: 500, times: 2 });
  intake.inject({ status: 429, headers: { 'x-ratelimit-reset': '2' }, body: '{"errors":["rate limited"]}' });
  assert.equal(intake.pendingFaults(), 3);
  assert.equal((await post(intake, '[{"a":1}]')).status, 500);
  assert.equal((await post(intake, '[{"a":1}]')).status, 500);
  const limited = await post(intake, '[{"a":1}]');
  assert.deepEqual(
    [limited.status, limited.headers.get('x-ratelimit-reset'), limited.body],
    [429, '2', '{"errors":["rate limited"]}'],
  );
  assert.equal((await post(intake, '[{"a":1}]')).status, 202);

  intake.inject({ reset: true });
  await assert.rejects(post(intake, '[{"a":1}]'));
  intake.inject({ status: 503, times: 5 });
  intake.clearFaults();
  assert.equal(intake.pendingFaults(), 0);

  intake.addPoison('BAD-VALUE');
  const poisoned = await post(intake, '[{"a":1},{"msg":"has BAD-VALUE in it"}]');
  assert.equal(poisoned.status, 400);
  assert.match(poisoned.body, /entry 1 contains the rejected value \\"BAD-VALUE\\"/);
  intake.clearPoison();
  assert.equal((await post(intake, '[{"msg":"has BAD-VALUE in it"}]')).status, 202);
  assert.deepEqual(
    intake.history.map((r) => r.status),
    [500, 500, 429, 202, 'reset', 400, 202],
  );
});

test('down means connections are refused; up again on the same port', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  t.after(() => intake.close());
  const url = intake.url;
  await intake.setDown(true);
  await assert.rejects(post(intake, '[{"a":1}]'));
  await intake.setDown(false);
  assert.equal(intake.url, url);
  assert.equal((await post(intake, '[{"a":1}]')).status, 202);
});

test('keepLogs false keeps counts and ids only', async (t) => {
  const intake = await startFakeIntake({ keepLogs: false, idField: 'uid' });
  t.after(() => intake.close());
  assert.equal((await post(intake, '[{"uid":"a"},{"uid":"b"},{"x":1}]', { 'dd-api-key': 'any' })).status, 202);
  assert.equal(intake.logs.length, 0);
  assert.equal(intake.logCount, 3);
  assert.deepEqual([...intake.ids].sort(), ['a', 'b']);
});
