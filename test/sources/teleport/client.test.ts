// the grpc client over real mTLS: direct mode and proxy tls routing (ALPN), checked by a TLS front that records
// what the client offered and forwards the decrypted h2 stream to a plain grpc server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createCA, createCert } from '../../../src/tls/certs.js';
import { validateIdentity } from '../../../src/sources/teleport/identity.js';
import { createAuditLogClient, PROTO_DIR, LOADER_OPTIONS, resolveMode } from '../../../src/sources/teleport/client.js';
import { authAlpnProtocol } from '../../../src/sources/teleport/credentials.js';
import { tlsFront } from '../../helpers/tls-front.js';

const hostCa = createCA({ commonName: 'tele.example.com' });
const userCa = createCA({ commonName: 'tele.example.com' });
const serverCert = createCert(hostCa, { usage: 'server', dnsNames: ['teleport.cluster.local'] });
const wrongName = createCert(hostCa, { usage: 'server', dnsNames: ['auth.example.com'] });
const clientCert = createCert(userCa, { usage: 'client', commonName: 'bot-datadog' });
const identity = validateIdentity(
  { key: clientCert.key, cert: clientCert.cert, cas: [hostCa.cert] },
  { file: 'identity' },
);

const def = protoLoader.loadSync('teleport/auditlog/v1/auditlog.proto', {
  ...LOADER_OPTIONS,
  includeDirs: [PROTO_DIR],
});
const svc = (grpc.loadPackageDefinition(def) as any).teleport.auditlog.v1.AuditLogService
  .service as grpc.ServiceDefinition;

const versions: string[] = [];
const server = new grpc.Server();
server.addService(svc, {
  GetEventExportChunks(call: grpc.ServerWritableStream<any, any>) {
    versions.push(String(call.metadata.get('version')[0]));
    call.write({ chunk: `chunk-for-${new Date(Number(call.request.date.seconds) * 1000).toISOString().slice(0, 10)}` });
    call.end();
  },
  ExportUnstructuredEvents(call: grpc.ServerWritableStream<any, any>) {
    call.end();
  },
  GetUnstructuredEvents(_call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) {
    setTimeout(() => cb(null, { items: [], last_key: '' }), 3000);
  },
  StreamUnstructuredSessionEvents(call: grpc.ServerWritableStream<any, any>) {
    call.end();
  },
});
const grpcPort = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
    err ? reject(err) : resolve(port),
  ),
);

/** a TLS front like a teleport proxy would route to: forwards the decrypted stream to the plain grpc server */
const frontWith = (cert: { cert: string; key: string }) =>
  tlsFront({ ...cert, ca: [userCa.cert], upstream: () => net.connect(grpcPort, '127.0.0.1') });

after(() => server.forceShutdown());

test('proxy mode offers teleport-auth@<hex(cluster)>.teleport.cluster.local before h2, over mTLS', async () => {
  const front = await frontWith(serverCert);
  const client = createAuditLogClient({
    addr: `127.0.0.1:${front.port}`,
    identity,
    mode: 'proxy',
    apiVersion: '17.0.0',
    timeoutMs: 5000,
  });
  try {
    const chunks = await client.getEventExportChunks(new Date('2024-05-01T10:00:00Z'));
    assert.deepEqual(chunks, ['chunk-for-2024-05-01']);
    assert.equal(front.seen.length, 1);
    const expected = `teleport-auth@${Buffer.from('tele.example.com').toString('hex')}.teleport.cluster.local`;
    assert.equal(authAlpnProtocol('tele.example.com'), expected);
    assert.deepEqual(front.seen[0]!.alpn, [expected, 'h2']);
    assert.equal(front.seen[0]!.sni, 'teleport.cluster.local');
    assert.equal(front.seen[0]!.clientCn, 'bot-datadog');
    assert.equal(versions[versions.length - 1], '17.0.0');
  } finally {
    client.close();
    await front.close();
  }
});

test('direct mode offers only h2 and sends the configured version metadata', async () => {
  const front = await frontWith(serverCert);
  const client = createAuditLogClient({
    addr: `127.0.0.1:${front.port}`,
    identity,
    mode: 'direct',
    apiVersion: '16.4.2',
    timeoutMs: 5000,
  });
  try {
    await client.getEventExportChunks(new Date('2024-05-02T00:00:00Z'));
    assert.deepEqual(front.seen[0]!.alpn, ['h2']);
    assert.equal(versions[versions.length - 1], '16.4.2');
  } finally {
    client.close();
    await front.close();
  }
});

test('a server certificate without teleport.cluster.local is refused', async () => {
  const front = await frontWith(wrongName);
  const client = createAuditLogClient({
    addr: `127.0.0.1:${front.port}`,
    identity,
    mode: 'direct',
    apiVersion: '17.0.0',
    timeoutMs: 3000,
  });
  try {
    await assert.rejects(client.getEventExportChunks(new Date()), (e: any) => e.code === grpc.status.UNAVAILABLE);
  } finally {
    client.close();
    await front.close();
  }
});

test('unary calls get the deadline', async () => {
  const front = await frontWith(serverCert);
  const client = createAuditLogClient({
    addr: `127.0.0.1:${front.port}`,
    identity,
    mode: 'direct',
    apiVersion: '17.0.0',
    timeoutMs: 300,
  });
  try {
    const req = { startDate: new Date(0), endDate: new Date(), eventTypes: [], limit: 10, startKey: '' };
    await assert.rejects(client.searchEvents(req), (e: any) => e.code === grpc.status.DEADLINE_EXCEEDED);
  } finally {
    client.close();
    await front.close();
  }
});

test('auto mode: proxy on 443/3080, direct otherwise', () => {
  assert.equal(resolveMode('auto', 'tele.example.com:443'), 'proxy');
  assert.equal(resolveMode('auto', 'tele.example.com:3080'), 'proxy');
  assert.equal(resolveMode('auto', 'auth.example.com:3025'), 'direct');
  assert.equal(resolveMode('direct', 'tele.example.com:443'), 'direct');
  assert.equal(resolveMode('proxy', 'x:3025'), 'proxy');
});
