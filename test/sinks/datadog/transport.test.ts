// the node:http(s) transport: tls verification with an extra CA, response headers kept, errors without secrets
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, createCert } from '../../../src/tls/certs.js';
import { startFakeIntake } from '../../../src/fakes/intake.js';
import { IntakeNetworkError, TlsFileError } from '../../../src/errors.js';
import { createDatadogSink } from '../../../src/sinks/datadog/sink.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { createRequestBuilder } from '../../../src/sinks/datadog/request.js';
import { resolveIntake } from '../../../src/sinks/datadog/site.js';
import { NodeHttpTransport } from '../../../src/sinks/datadog/transport.js';
import { auditLogs, recordingLogger, tempSpool, waitFor } from './support.js';

const KEY = 'transport-key-5be1d0';

test('https: the intake certificate is verified; an extra CA file makes a private CA trusted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-ca-'));
  const ca = createCA({ commonName: 'proxy CA' });
  const server = createCert(ca, { usage: 'server', ips: ['127.0.0.1'], commonName: 'intake' });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.cert);
  const intake = await startFakeIntake({ apiKeys: [KEY], tls: server });
  t.after(async () => {
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.ok(intake.url.startsWith('https://127.0.0.1:'));

  // without the CA: refused by verification, retried, nothing delivered or dropped
  const first = await tempSpool(t);
  await first.spool.append(auditLogs(0, 10));
  const untrusting = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: KEY, url: intake.url, retryInitialMs: 10, retryMaxMs: 50 },
    { spool: first.spool, logger: recordingLogger() },
  );
  untrusting.start();
  await waitFor(() => untrusting.status().retries.network >= 2, 'tls failures');
  await untrusting.stop(0);
  assert.equal(untrusting.status().delivered, 0);
  assert.match(untrusting.status().lastError?.message ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/i);
  assert.equal(intake.logCount, 0);
  assert.equal(first.spool.stats().records, 10);

  // with the CA file: delivered
  const second = await tempSpool(t);
  await second.spool.append(auditLogs(0, 10));
  const trusting = createDatadogSink(
    { ...sectionDefaults('datadog'), apiKey: KEY, url: intake.url, caFile },
    { spool: second.spool, logger: recordingLogger() },
  );
  trusting.start();
  await waitFor(() => trusting.status().delivered === 10, 'delivered over https');
  await trusting.stop();
  assert.equal(intake.logCount, 10);
});

test('a missing or broken extra CA file is a TlsFileError naming the file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  const broken = join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  for (const [file, re] of [
    [join(dir, 'missing.pem'), /cannot be read \(ENOENT\)/],
    [notPem, /holds no PEM certificate/],
    [broken, /not a valid PEM certificate/],
  ] as const) {
    assert.throws(
      () => new NodeHttpTransport({ concurrency: 1, timeoutMs: 1000, extraCaFile: file }),
      (err: unknown) => err instanceof TlsFileError && err.message.includes(file) && re.test(err.message),
      file,
    );
  }
});

test('responses keep their headers (rate limits) and status; the body is readable more than once', async (t) => {
  const intake = await startFakeIntake({ apiKeys: [KEY] });
  const transport = new NodeHttpTransport({ concurrency: 2, timeoutMs: 5000 });
  t.after(async () => {
    transport.close();
    await intake.close();
  });
  intake.inject({
    status: 429,
    headers: { 'x-ratelimit-reset': '3', 'x-ratelimit-period': '10', 'X-RateLimit-Name': 'logs' },
    body: '{"errors":["slow down"]}',
  });
  const builder = createRequestBuilder({
    apiKey: KEY,
    endpoint: resolveIntake({ url: intake.url }),
    compression: 'gzip',
    httpApi: transport,
  });
  const limited = await transport.send(await builder.build(auditLogs(0, 3)));
  assert.equal(limited.httpStatusCode, 429);
  assert.equal(limited.headers['x-ratelimit-reset'], '3');
  assert.equal(limited.headers['x-ratelimit-name'], 'logs');
  assert.equal(await limited.body.text(), '{"errors":["slow down"]}');
  assert.equal(await limited.body.text(), '{"errors":["slow down"]}');

  const ok = await transport.send(await builder.build(auditLogs(0, 3)));
  assert.equal(ok.httpStatusCode, 202);
  assert.equal(await ok.body.text(), '{}');
  assert.equal(intake.logCount, 3);
  const stats = transport.stats();
  assert.equal(stats.requests, 2);
  assert.ok(stats.wireBytes < stats.bodyBytes, 'gzip made it smaller');
});

test('network errors name the endpoint and never the api key', async (t) => {
  const intake = await startFakeIntake();
  const url = intake.url;
  await intake.close(); // nothing listens there now
  const transport = new NodeHttpTransport({ concurrency: 1, timeoutMs: 5000 });
  t.after(() => transport.close());
  const builder = createRequestBuilder({
    apiKey: KEY,
    endpoint: resolveIntake({ url }),
    compression: 'gzip',
    httpApi: transport,
  });
  await assert.rejects(
    transport.send(await builder.build(auditLogs(0, 1))),
    (err: unknown) =>
      err instanceof IntakeNetworkError &&
      err.code === 'TDF_INTAKE_NETWORK' &&
      err.message.startsWith(`could not reach ${url}`) &&
      !JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) }).includes(KEY),
  );
});

test('a cancelled request rejects at once and is counted as a network failure', async (t) => {
  const intake = await startFakeIntake();
  intake.inject({ delayMs: 1000 });
  const transport = new NodeHttpTransport({ concurrency: 1, timeoutMs: 5000 });
  t.after(async () => {
    transport.close();
    await waitFor(() => intake.history.length === 1, 'intake saw the request end');
    await intake.close();
  });
  const builder = createRequestBuilder({
    apiKey: KEY,
    endpoint: resolveIntake({ url: intake.url }),
    compression: 'none',
    httpApi: transport,
  });
  const controller = new AbortController();
  const pending = transport.send(await builder.build(auditLogs(0, 1), controller.signal));
  await waitFor(() => intake.requests === 1, 'request arrived');
  controller.abort();
  await assert.rejects(pending, (err: unknown) => err instanceof IntakeNetworkError && /cancelled/.test(err.message));
});
