import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { createCA, createCert, encryptKey, type CertKeyPem } from '../../../src/tls/certs.js';
import { SpoolClosedError, SpoolFullError, TlsFileError } from '../../../src/errors.js';
import type { SourceRecord } from '../../../src/record.js';
import { createIngestServer, type IngestOptions, type IngestServer } from '../../../src/sources/http/server.js';
import { sectionDefaults } from '../../../src/config/sections.js';

const T = { timeout: 15_000 };
const ca = createCA({ commonName: 'CA' });
const serverPem = createCert(ca, {
  usage: 'server',
  commonName: 'Server',
  dnsNames: ['localhost'],
  ips: ['127.0.0.1'],
});
const client = createCert(ca, { usage: 'client', commonName: 'Client' });

interface Harness {
  server: IngestServer;
  port: number;
  calls: SourceRecord[][];
  logs: Array<Record<string, unknown>>;
}

const open: IngestServer[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});

async function startServer(
  accept: (records: SourceRecord[]) => Promise<void> = async () => {},
  overrides: Partial<IngestOptions> = {},
): Promise<Harness> {
  const calls: SourceRecord[][] = [];
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
  const server = createIngestServer(
    {
      ...sectionDefaults('ingest'),
      host: '127.0.0.1',
      port: 0,
      tls: { ca: ca.cert, cert: serverPem.cert, key: serverPem.key },
      bodyLimit: 64 * 1024,
      maxDecompressed: 256 * 1024,
      retryAfterMs: 7000,
      ...overrides,
    },
    {
      logger,
      accept: (records) => {
        calls.push(records);
        return accept(records);
      },
    },
  );
  open.push(server);
  const { port } = await server.start();
  return { server, port, calls, logs };
}

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

interface ReqOpts {
  method?: string;
  path?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  cert?: CertKeyPem | null;
  trust?: string;
  agent?: https.Agent;
  chunked?: boolean;
}

function request(port: number, o: ReqOpts = {}): Promise<Res> {
  const c = o.cert === undefined ? client : o.cert;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'POST',
        path: o.path ?? '/test.log',
        ca: o.trust ?? ca.cert,
        ...(c === null ? {} : { cert: c.cert, key: c.key }),
        agent: o.agent ?? false,
        headers: { 'content-type': 'application/json', ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            reusedSocket: req.reusedSocket,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (o.body !== undefined && o.chunked) {
      // no content-length: the body streams in chunks
      const b = Buffer.from(o.body);
      for (let i = 0; i < b.length; i += 4096) req.write(b.subarray(i, i + 4096));
      req.end();
    } else {
      req.end(o.body);
    }
  });
}

/** a raw http/1.1 exchange over mutual tls, for requests node's client refuses to send */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, cert: client.cert, key: client.key }, () =>
      s.end(text),
    );
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

/** a server whose accept waits until release(); acceptCalled settles when the first accept starts waiting */
async function startGatedServer(): Promise<{ h: Harness; release: () => void; acceptCalled: Promise<void> }> {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let accepted!: () => void;
  const acceptCalled = new Promise<void>((r) => (accepted = r));
  const h = await startServer(() => {
    accepted();
    return gate;
  });
  return { h, release, acceptCalled };
}

const EVENT = { event: 'user.login', code: 'T1000W', success: false, time: '2024-05-01T10:00:01.123Z', user: 'alice' };

test('200 with an empty text/plain body only after accept resolved', T, async () => {
  const { h, release, acceptCalled } = await startGatedServer();
  let answered = false;
  const pending = request(h.port, { body: JSON.stringify(EVENT) }).then((r) => {
    answered = true;
    return r;
  });
  await acceptCalled;
  await sleep(300);
  assert.equal(answered, false, 'the response must wait for accept');
  release();
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(res.body, '');
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(res.headers['content-length'], '0');
  // the body was the event as one compact object: the record carries that text for the router
  assert.deepEqual(h.calls, [
    [{ tag: 'test.log', time: Date.parse(EVENT.time), record: EVENT, text: JSON.stringify(EVENT) }],
  ]);
  assert.equal(h.server.stats().records, 1);
});

test('one request with many records: one accept call with all of them; session tags from the path', T, async () => {
  const h = await startServer();
  const sid = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';
  const res = await request(h.port, {
    path: `/session.${sid}.log`,
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    body: gzipSync('{"ei":1,"event":"print"}\n{"ei":2,"event":"print"}\n'),
  });
  assert.equal(res.status, 200);
  assert.equal(h.calls.length, 1);
  assert.deepEqual(
    h.calls[0]!.map((r) => [r.tag, r.record.ei]),
    [
      [`session.${sid}.log`, 1],
      [`session.${sid}.log`, 2],
    ],
  );
  const res2 = await request(h.port, { path: '/a/b?time=1714557601.5', body: '{"x":1}' });
  assert.equal(res2.status, 200);
  assert.deepEqual(h.calls[1], [{ tag: 'a.b', time: 1714557601500, record: { x: 1 }, text: '{"x":1}' }]);
});

test('400 with the reason and no accept: invalid json, unknown or broken content type, bad tag', T, async () => {
  const h = await startServer();
  const bad = await request(h.port, { body: '{"a":' });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers['content-type'], 'text/plain');
  assert.match(bad.body, /^400 Bad Request\ninvalid JSON: .+\n$/);

  const wrongType = await request(h.port, { body: '{"a":1}', headers: { 'content-type': 'text/plain' } });
  assert.equal(wrongType.status, 400);
  assert.match(
    wrongType.body,
    /^400 Bad Request\n'json', 'ndjson' or 'msgpack' parameter is required: Content-Type text\/plain is not one the ingest reads; send JSON with Content-Type: application\/json, .+\n$/,
  );

  const brokenType = await request(h.port, { body: '{"a":1}', headers: { 'content-type': '/json' } });
  assert.equal(brokenType.status, 400);
  assert.match(
    brokenType.body,
    /^400 Bad Request\n'json', 'ndjson' or 'msgpack' parameter is required: the Content-Type header cannot be parsed; send JSON with Content-Type: application\/json, .+\n$/,
  );

  const noTag = await request(h.port, { path: '/', body: '{"a":1}' });
  assert.equal(noTag.status, 400);
  assert.match(noTag.body, /^400 Bad Request\nno valid tag in the path "\/"/);

  const corrupt = await request(h.port, { body: 'not gzip', headers: { 'content-encoding': 'gzip' } });
  assert.equal(corrupt.status, 400);
  assert.match(corrupt.body, /^400 Bad Request\ninvalid gzip body: /);

  const badEscape = await request(h.port, { path: '/%zz', body: '{"a":1}' });
  assert.equal(badEscape.status, 400);
  assert.match(badEscape.body, /^400 Bad Request\n.+\n$/);

  assert.equal(h.calls.length, 0);
  assert.equal(h.server.stats().status4xx, 6);

  // a tag up to 256 characters is fine (no router parameter length limit on the wildcard path); a longer one is
  // refused: it bounds the cost of matching patterns with several ** against it
  const long = 'x'.repeat(252);
  assert.equal((await request(h.port, { path: `/${long}/log`, body: '{"a":1}' })).status, 200);
  assert.equal(h.calls[0]![0]!.tag, `${long}.log`);
  const tooLong = await request(h.port, { path: `/${long}x/log`, body: '{"a":1}' });
  assert.equal(tooLong.status, 400);
  assert.match(tooLong.body, /at most 256 characters/);
  assert.equal(h.calls.length, 1);
});

test('the common mistakes get a 400 that says what is accepted, and binary bodies are never echoed', T, async () => {
  const h = await startServer();
  const accepted = /application\/json.+application\/x-ndjson.+application\/msgpack.+json=, ndjson= or msgpack= field/;
  // curl -d '{"a":1}': a form-urlencoded body holding JSON
  const curlD = await request(h.port, {
    body: '{"event":"user.login"}',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(curlD.status, 400);
  assert.match(
    curlD.body,
    /^400 Bad Request\n'json', 'ndjson' or 'msgpack' parameter is required: the body is JSON sent as a form/,
  );
  assert.match(curlD.body, /-H 'Content-Type: application\/json'/);
  assert.match(curlD.body, accepted);
  // curl --data-urlencode 'json=...' is what a form should carry, and is accepted
  const form = await request(h.port, {
    body: `json=${encodeURIComponent('{"event":"user.login"}')}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.status, 200);
  // JSON as text/plain
  const plain = await request(h.port, { body: '{"a":1}', headers: { 'content-type': 'text/plain' } });
  assert.equal(plain.status, 400);
  assert.match(plain.body, /Content-Type text\/plain is not one the ingest reads/);
  assert.match(plain.body, accepted);

  // gzip bodies without Content-Encoding: the reason says what the body is, never its bytes
  const gz = gzipSync(JSON.stringify({ event: 'user.login', user: 'alice', secret: 'x'.repeat(40) }));
  const variants: Array<Record<string, string>> = [
    { 'content-type': 'application/json' },
    {},
    { 'content-type': 'application/x-ndjson' },
  ];
  for (const headers of variants) {
    const res = await request(h.port, { body: gz, headers });
    assert.equal(res.status, 400, JSON.stringify(headers));
    assert.match(res.body, /the body is gzip-compressed \(\d+ bytes\) but the request has no Content-Encoding/);
    assert.match(res.body, /^[\x20-\x7e\n]*$/, `only printable ascii: ${JSON.stringify(res.body)}`);
  }
  // any binary body, as JSON
  const binary = Buffer.from([0x7b, 0x22, 0x00, 0xff, 0xfe, 0x01, 0x80, 0x22, 0x7d]);
  const bin = await request(h.port, { body: binary, headers: { 'content-type': 'application/json' } });
  assert.equal(bin.body, '400 Bad Request\ninvalid JSON: the body is binary (9 bytes), not text\n');
  // and the log lines about them hold no raw bytes either
  const warned = JSON.stringify(h.logs.filter((l) => l.status === 400));
  assert.doesNotMatch(warned, /\\u00[01]|\ufffd/);
  assert.match(warned, /gzip-compressed/);
  assert.equal(h.calls.length, 1);
});

test('413 over bodyLimit (with and without content-length) and over the decompressed bound', T, async () => {
  const h = await startServer(undefined, { bodyLimit: 4096, maxDecompressed: 16384 });
  const big = JSON.stringify({ pad: 'x'.repeat(8192) });
  const res = await request(h.port, { body: big });
  assert.equal(res.status, 413);
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(res.body, '413 Payload Too Large\nrequest body is larger than 4096 bytes\n');

  const chunked = await request(h.port, { body: big, chunked: true });
  assert.equal(chunked.status, 413);
  assert.match(chunked.body, /^413 Payload Too Large\n/);

  const bomb = await request(h.port, {
    body: gzipSync(Buffer.alloc(1024 * 1024)),
    headers: { 'content-encoding': 'gzip' },
  });
  assert.equal(bomb.status, 413);
  assert.equal(bomb.body, '413 Payload Too Large\ndecompressed body is larger than 16384 bytes\n');
  assert.equal(h.calls.length, 0);

  // at the limit it still works
  const fits = JSON.stringify({ pad: 'x'.repeat(4096 - 10) });
  assert.equal(Buffer.byteLength(fits), 4096);
  assert.equal((await request(h.port, { body: fits })).status, 200);
});

test('503 with Retry-After when the spool is full, 503 when it is closed, 500 on anything else', T, async () => {
  let fail: Error = new SpoolFullError();
  const h = await startServer(async () => {
    throw fail;
  });
  const full = await request(h.port, { body: '{"a":1}' });
  assert.equal(full.status, 503);
  assert.equal(full.headers['retry-after'], '7');
  assert.equal(full.body, `503 Service Unavailable\n${new SpoolFullError().message}\n`);

  fail = new SpoolClosedError();
  const closed = await request(h.port, { body: '{"a":1}' });
  assert.equal(closed.status, 503);
  assert.equal(closed.body, `503 Service Unavailable\n${new SpoolClosedError().message}\n`);

  fail = new Error('disk on fire at /secret/path');
  const boom = await request(h.port, { body: '{"a":1}' });
  assert.equal(boom.status, 500);
  assert.match(boom.body, /^500 Internal Server Error\n.+\n$/);
  assert.doesNotMatch(boom.body, /secret/);
  assert.ok(
    h.logs.some((l) => l.level === 50 && /disk on fire/.test(JSON.stringify(l.err))),
    'the 500 is logged with its error',
  );

  const s = h.server.stats();
  assert.equal(s.status503, 2);
  assert.equal(s.status5xx, 3);
  assert.equal(s.records, 0);
});

test('GET and HEAD answer 200 empty for health probes; other methods 405', T, async () => {
  const h = await startServer();
  for (const method of ['GET', 'HEAD']) {
    for (const path of ['/', '/test.log', '/any/path?x=1']) {
      const res = await request(h.port, { method, path, headers: {} });
      assert.equal(res.status, 200, `${method} ${path}`);
      assert.equal(res.body, '');
    }
  }
  const put = await request(h.port, { method: 'PUT', body: '{}' });
  assert.equal(put.status, 405);
  assert.equal(put.headers.allow, 'GET, HEAD, POST');
  assert.match(put.body, /^405 Method Not Allowed\n/);
  assert.equal(h.calls.length, 0);
});

test('malformed http gets our error format from the connection handler', T, async () => {
  const h = await startServer();
  const badLength = await rawExchange(
    h.port,
    'POST /test.log HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
  );
  assert.match(badLength, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(badLength, /\r\n\r\n400 Bad Request\ninvalid Content-Length\n$/);
  const garbage = await rawExchange(h.port, 'NOT HTTP AT ALL\r\n\r\n');
  assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.equal(h.calls.length, 0);
});

test(
  'client certificates: none, another CA, expired and serverAuth-only are refused before any handler',
  T,
  async () => {
    const h = await startServer();
    const other = createCA({ commonName: 'Other CA' });
    const stranger = createCert(other, { usage: 'client' });
    const expired = createCert(ca, { usage: 'client', notBefore: new Date(Date.now() - 48 * 3600_000), ttlHours: 1 });
    const serverOnly = createCert(ca, { usage: 'server', commonName: 'NotAClient' });
    for (const [name, cert] of [
      ['no certificate', null],
      ['another CA', stranger],
      ['expired', expired],
      ['serverAuth only', serverOnly],
    ] as const) {
      await assert.rejects(request(h.port, { body: '{"a":1}', cert }), `${name} must fail`);
      await assert.rejects(request(h.port, { method: 'GET', cert }), `${name} must fail on GET too`);
    }
    assert.equal(h.calls.length, 0);
    const s = h.server.stats();
    assert.equal(s.requests, 0, 'no handler ran');
    assert.ok(s.tlsFailed + s.tlsRefused >= 8, JSON.stringify(s));
    // each refusal is logged with openssl's reason
    const warned = h.logs.filter((l) => l.level === 40).map((l) => String(l.msg));
    for (const reason of [
      'without a certificate',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
      'INVALID_PURPOSE',
    ]) {
      assert.ok(
        warned.some((m) => m.includes(reason)),
        `a warning mentions ${reason}: ${warned.join(' | ')}`,
      );
    }

    // no extended key usage at all means any usage; clientAuth together with serverAuth is fine too
    for (const usage of ['none', 'both'] as const) {
      const res = await request(h.port, { body: '{"a":1}', cert: createCert(ca, { usage }) });
      assert.equal(res.status, 200, usage);
    }
  },
);

test('clientCertRefusal: the post-handshake extended key usage guard', T, async () => {
  // openssl's purpose check already fails such a certificate in the handshake (INVALID_PURPOSE, tested above);
  // this guard behind it cannot be reached over the wire, so it is checked directly
  const { clientCertRefusal } = await import('../../../src/sources/http/tls.js');
  const { X509Certificate } = await import('node:crypto');
  assert.match(
    clientCertRefusal(new X509Certificate(createCert(ca, { usage: 'server' }).cert)) ?? '',
    /does not allow clientAuth/,
  );
  assert.equal(clientCertRefusal(new X509Certificate(client.cert)), null);
  assert.equal(clientCertRefusal(new X509Certificate(createCert(ca, { usage: 'none' }).cert)), null);
  assert.equal(clientCertRefusal(undefined), 'no client certificate');
});

test(
  'an encrypted server key works with its passphrase; a wrong or missing one is a clear start error',
  T,
  async () => {
    const pass = 'pass-7f3a9c';
    const encrypted = encryptKey(serverPem.key, pass);
    const h = await startServer(undefined, {
      tls: { ca: ca.cert, cert: serverPem.cert, key: encrypted, passphrase: pass },
    });
    assert.equal((await request(h.port, { body: '{"a":1}' })).status, 200);

    for (const passphrase of ['wrong-secret-123', undefined]) {
      const s = createIngestServer(
        {
          ...sectionDefaults('ingest'),
          host: '127.0.0.1',
          port: 0,
          tls: { ca: ca.cert, cert: serverPem.cert, key: encrypted, passphrase },
          bodyLimit: 1024,
          maxDecompressed: 1024,
          retryAfterMs: 1000,
        },
        { logger: pino({ level: 'silent' }), accept: async () => {} },
      );
      open.push(s);
      const err = await s.start().then(
        () => assert.fail('start must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TlsFileError, String(err));
      assert.match(err.message, /passphrase/);
      assert.doesNotMatch(err.message, /wrong-secret-123/);
      assert.doesNotMatch(err.message, /PRIVATE KEY/);
    }

    const mismatch = createIngestServer(
      {
        ...sectionDefaults('ingest'),
        host: '127.0.0.1',
        port: 0,
        tls: { ca: ca.cert, cert: serverPem.cert, key: client.key },
        bodyLimit: 1024,
        maxDecompressed: 1024,
        retryAfterMs: 1000,
      },
      { logger: pino({ level: 'silent' }), accept: async () => {} },
    );
    open.push(mismatch);
    await assert.rejects(mismatch.start(), /does not match the server certificate/);
  },
);

test('reloadTls swaps CA and server certificate for new connections', T, async () => {
  const h = await startServer();
  assert.equal((await request(h.port, { body: '{"a":1}' })).status, 200);

  const ca2 = createCA({ commonName: 'CA2' });
  const server2 = createCert(ca2, { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client2 = createCert(ca2, { usage: 'client' });

  // a bad reload throws and keeps the old material
  const pass = 'reload-pass';
  assert.throws(
    () =>
      h.server.reloadTls({ ca: ca2.cert, cert: server2.cert, key: encryptKey(server2.key, pass), passphrase: 'nope' }),
    TlsFileError,
  );
  assert.equal((await request(h.port, { body: '{"a":2}' })).status, 200);

  h.server.reloadTls({ ca: ca2.cert, cert: server2.cert, key: encryptKey(server2.key, pass), passphrase: pass });
  const ok = await request(h.port, { body: '{"a":3}', cert: client2, trust: ca2.cert });
  assert.equal(ok.status, 200);
  // the old client, even trusting both CAs, is refused
  await assert.rejects(request(h.port, { body: '{"a":4}', cert: client, trust: ca.cert + ca2.cert }));
  // and a client that still trusts only the old CA does not trust the new server certificate
  await assert.rejects(request(h.port, { body: '{"a":5}', cert: client2, trust: ca.cert }));
  assert.deepEqual(
    h.calls.map((c) => c[0]!.record.a),
    [1, 2, 3],
  );
});

test('keep-alive: several requests on one socket', T, async () => {
  const h = await startServer();
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const results: Res[] = [];
    for (let i = 0; i < 5; i++) results.push(await request(h.port, { body: JSON.stringify({ i }), agent }));
    // an error in between keeps the connection too
    results.push(await request(h.port, { body: '{bad', agent }));
    results.push(await request(h.port, { body: '{"i":6}', agent }));
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200, 400, 200],
    );
    assert.equal(results[0]!.reusedSocket, false);
    assert.ok(
      results.slice(1).every((r) => r.reusedSocket),
      'later requests reuse the first socket',
    );
    assert.notEqual(results[0]!.headers.connection, 'close');
    assert.equal(h.calls.length, 6);
  } finally {
    agent.destroy();
  }
});

test('only http/1.1 is offered over ALPN (the go client would switch to h2 if it were)', T, async () => {
  const h = await startServer();
  const protocol = await new Promise<string | false | null>((resolve, reject) => {
    const s = tls.connect(
      {
        host: '127.0.0.1',
        port: h.port,
        ca: ca.cert,
        cert: client.cert,
        key: client.key,
        ALPNProtocols: ['h2', 'http/1.1'],
      },
      () => {
        resolve(s.alpnProtocol);
        s.end();
      },
    );
    s.on('error', reject);
  });
  assert.equal(protocol, 'http/1.1');
});

test('close: in-flight requests finish, later ones are refused', T, async () => {
  const { h, release, acceptCalled } = await startGatedServer();
  const inflight = request(h.port, { body: '{"a":1}' });
  await acceptCalled;
  const closing = h.server.close();
  await assert.rejects(request(h.port, { body: '{"a":2}' }));
  release();
  assert.equal((await inflight).status, 200);
  await closing;
  assert.equal(h.calls.length, 1);
});

test(
  'a client stalled mid-body cannot hold up close(): its connection is dropped after the grace period',
  T,
  async () => {
    const h = await startServer(async () => {}, { closeGraceMs: 300 });
    const sock = tls.connect({
      host: '127.0.0.1',
      port: h.port,
      ca: ca.cert,
      cert: client.cert,
      key: client.key,
      servername: 'localhost',
    });
    await new Promise((r) => sock.once('secureConnect', r));
    sock.write(
      'POST /test.log HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    const closedByServer = new Promise((r) => sock.once('close', r));
    await sleep(100);
    const outcome = await Promise.race([
      h.server.close().then(() => 'closed'),
      sleep(8_000).then(() => 'still waiting'),
    ]);
    assert.equal(outcome, 'closed');
    await closedByServer;
    assert.equal(h.calls.length, 0, 'the half-sent request never reached accept');
  },
);

test('a client that stalls mid-request is cut off by the request timeout', T, async () => {
  const h = await startServer(async () => {}, { requestTimeoutMs: 300 });
  const sock = tls.connect({
    host: '127.0.0.1',
    port: h.port,
    ca: ca.cert,
    cert: client.cert,
    key: client.key,
    servername: 'localhost',
  });
  await new Promise((r) => sock.once('secureConnect', r));
  let answer = '';
  sock.on('data', (d) => (answer += d));
  sock.write(
    'POST /test.log HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
  );
  await new Promise((r) => sock.once('close', r));
  assert.ok(answer === '' || /^HTTP\/1\.1 408/.test(answer), answer);
  assert.equal(h.calls.length, 0);
});
