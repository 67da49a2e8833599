// the client's LogsApiRequestFactory builds url, headers and auth; the body is the spool's json texts, as they are
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequestBuilder, batchBody } from '../../src/sinks/datadog/request.js';
import { arrayOverhead } from '../../src/sinks/datadog/limits.js';
import { resolveIntake } from '../../src/sinks/datadog/site.js';

const noSend = { send: async () => { throw new Error('not used'); } };

test('a site request goes to the site intake with the key, json type, encoding and ddtags', async () => {
  const builder = createRequestBuilder({ apiKey: 'k-1', endpoint: resolveIntake({ site: 'datadoghq.eu' }), compression: 'gzip', ddtags: 'env:prod,team:sec', httpApi: noSend });
  const values = ['{"id":1,"event":"user.login"}', '{"id":2,"nested":{"a":[1,2]}}'];
  const request = await builder.build(values);
  const url = new URL(request.getUrl());
  assert.equal(url.origin + url.pathname, 'https://http-intake.logs.datadoghq.eu/api/v2/logs');
  assert.equal(url.searchParams.get('ddtags'), 'env:prod,team:sec');
  const headers = request.getHeaders();
  assert.equal(headers['DD-API-KEY'], 'k-1');
  assert.equal(headers['Content-Type'], 'application/json');
  assert.equal(headers['Content-Encoding'], 'gzip');
  assert.equal(request.getHttpMethod(), 'POST');
  // every field survives, including logs without `message` (the client's own serializer would refuse those)
  assert.deepEqual(JSON.parse(String(request.getBody())), [{ id: 1, event: 'user.login' }, { id: 2, nested: { a: [1, 2] } }]);
});

test('an explicit url is used as the base; compression none sends no Content-Encoding', async () => {
  const builder = createRequestBuilder({ apiKey: 'k', endpoint: resolveIntake({ url: 'http://127.0.0.1:9/prefix/' }), compression: 'none', httpApi: noSend });
  const request = await builder.build(['{"a":1}']);
  assert.equal(request.getUrl(), 'http://127.0.0.1:9/prefix/api/v2/logs');
  assert.equal(request.getHeaders()['Content-Encoding'], undefined);
});

test('DD_SITE in the environment does not override the configured site', async () => {
  const before = process.env.DD_SITE;
  process.env.DD_SITE = 'datadoghq.eu';
  try {
    const builder = createRequestBuilder({ apiKey: 'k', endpoint: resolveIntake({ site: 'us5.datadoghq.com' }), compression: 'deflate', httpApi: noSend });
    const request = await builder.build(['{"a":1}']);
    assert.ok(request.getUrl().startsWith('https://http-intake.logs.us5.datadoghq.com/'), request.getUrl());
    assert.equal(request.getHeaders()['Content-Encoding'], 'deflate');
  } finally {
    if (before === undefined) delete process.env.DD_SITE;
    else process.env.DD_SITE = before;
  }
});

test('the body is exactly the texts plus the array overhead', () => {
  for (const values of [[], ['{}'], ['{"a":1}', '{"b":2}', '{"c":3}']]) {
    const body = batchBody(values);
    assert.equal(body.length, values.reduce((n, v) => n + v.length, 0) + arrayOverhead(values.length));
    assert.deepEqual(JSON.parse(body), values.map((v) => JSON.parse(v)));
  }
});
