// the client's LogsApiRequestFactory builds url, headers and auth; the body is the spool's json texts, as they are
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createRequestBuilder,
  batchBody,
  requestTemplate,
  type Compression,
} from '../../../src/sinks/datadog/request.js';
import { compiled, repoRoot } from '../../helpers/paths.js';
import { arrayOverhead } from '../../../src/sinks/datadog/limits.js';
import { resolveIntake } from '../../../src/sinks/datadog/site.js';

const noSend = {
  send: async () => {
    throw new Error('not used');
  },
};

test('a site request goes to the site intake with the key, json type, encoding and ddtags', async () => {
  const builder = createRequestBuilder({
    apiKey: 'k-1',
    endpoint: resolveIntake({ site: 'datadoghq.eu' }),
    compression: 'gzip',
    ddtags: 'env:prod,team:sec',
    httpApi: noSend,
  });
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
  assert.deepEqual(JSON.parse(String(request.getBody())), [
    { id: 1, event: 'user.login' },
    { id: 2, nested: { a: [1, 2] } },
  ]);
});

test('an explicit url is used as the base; compression none sends no Content-Encoding', async () => {
  const builder = createRequestBuilder({
    apiKey: 'k',
    endpoint: resolveIntake({ url: 'http://127.0.0.1:9/prefix/' }),
    compression: 'none',
    httpApi: noSend,
  });
  const request = await builder.build(['{"a":1}']);
  assert.equal(request.getUrl(), 'http://127.0.0.1:9/prefix/api/v2/logs');
  assert.equal(request.getHeaders()['Content-Encoding'], undefined);
});

test('DD_SITE in the environment does not override the configured site', async () => {
  const before = process.env.DD_SITE;
  process.env.DD_SITE = 'datadoghq.eu';
  try {
    const builder = createRequestBuilder({
      apiKey: 'k',
      endpoint: resolveIntake({ site: 'us5.datadoghq.com' }),
      compression: 'deflate',
      httpApi: noSend,
    });
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
    assert.deepEqual(
      JSON.parse(body),
      values.map((v) => JSON.parse(v)),
    );
  }
});

test("the url and headers are exactly what the client's LogsApiRequestFactory.submitLog builds", async () => {
  const { LogsApiRequestFactory } =
    await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-v2/apis/LogsApi.js');
  const { createConfiguration, ServerConfiguration } =
    await import('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js');
  const sites = ['datadoghq.com', 'datadoghq.eu', 'us3.datadoghq.com', 'us5.datadoghq.com', 'ap1.datadoghq.com'];
  const cases: Array<{ site?: string; url?: string; compression: Compression; ddtags?: string }> = [
    ...sites.map((site) => ({ site, compression: 'gzip' as const, ddtags: 'env:x' })),
    { site: 'datadoghq.com', compression: 'deflate' },
    { site: 'datadoghq.eu', compression: 'none', ddtags: 'a:b,c:d' },
    { url: 'http://127.0.0.1:9999', compression: 'gzip' },
    { url: 'https://intake.example.com:8443/base', compression: 'none', ddtags: 'env:y' },
  ];
  for (const c of cases) {
    const endpoint = resolveIntake(c.url ? { url: c.url } : { site: c.site! });
    const configuration = createConfiguration({
      authMethods: { apiKeyAuth: 'k-2' },
      ...(endpoint.site === null ? { baseServer: new ServerConfiguration(endpoint.intakeBaseUrl, {}) } : {}),
    });
    if (endpoint.site !== null) configuration.setServerVariables({ site: endpoint.site });
    const encoding = c.compression === 'none' ? undefined : c.compression;
    const direct = await new LogsApiRequestFactory(configuration).submitLog([], encoding, c.ddtags);
    const built = await requestTemplate({ apiKey: 'k-2', endpoint, compression: c.compression, ddtags: c.ddtags });
    assert.equal(built.url, direct.getUrl(), JSON.stringify(c));
    assert.deepEqual(built.headers, direct.getHeaders(), JSON.stringify(c));
  }
});

test("building requests does not load the client's models into this process (only its common module)", () => {
  const module = join(repoRoot, compiled ? 'dist/src/sinks/datadog/request.js' : 'src/sinks/datadog/request.ts');
  const script = `
    const { createRequestBuilder } = await import(${JSON.stringify(pathToFileURL(module).href)});
    const { resolveIntake } = await import(${JSON.stringify(pathToFileURL(module.replace(/request\.(js|ts)$/, 'site.$1')).href)});
    const b = createRequestBuilder({ apiKey: 'k', endpoint: resolveIntake({ site: 'datadoghq.com' }), compression: 'gzip', httpApi: {} });
    const r = await b.build(['{"a":1}']);
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('datadog-api-client-v2'));
    console.log(JSON.stringify({ url: r.getUrl(), loaded: loaded.length }));`;
  const args = [...(compiled ? [] : ['--import', 'tsx']), '--input-type=module', '-e', script];
  const out = execFileSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  assert.equal(result.url, 'https://http-intake.logs.datadoghq.com/api/v2/logs');
  assert.equal(result.loaded, 0, 'no module of the v2 api package in this process');
});

test('a failure of the client fails the build with a clear error, each time (no stale template)', async () => {
  // an intake base that is not a url makes the client's request context throw
  const builder = createRequestBuilder({
    apiKey: 'k',
    endpoint: { site: null, intakeBaseUrl: 'not a url' } as never,
    compression: 'none',
    httpApi: noSend,
  });
  await assert.rejects(builder.build(['{}']), /^Error: datadog client: .*Invalid URL/);
  await assert.rejects(builder.build(['{}']), /^Error: datadog client: .*Invalid URL/);
});
