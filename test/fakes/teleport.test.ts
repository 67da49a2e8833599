import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createCA, createCert } from '../../src/tls/certs.js';
import {
  type FakeDataset,
  type FakeTeleport,
  AUTH_SERVER_NAME,
  createFakeTeleportTls,
  generatedDataset,
  loadFixtureDataset,
  sampleEvents,
  startFakeTeleport,
} from '../../src/fakes/teleport.js';
import { projectRoot, utcDate } from '../../src/fakes/teleport-dataset.js';
import { iso } from '../../src/fakes/teleport-events.js';
import { awayFromUtcMidnight } from '../helpers/clock.js';

await awayFromUtcMidnight();

// a real grpc-js client over mTLS, loading the same proto as production clients
const pkg = protoLoader.loadSync('teleport/auditlog/v1/auditlog.proto', {
  includeDirs: [join(projectRoot(), 'proto')],
  keepCase: true,
  longs: String,
  defaults: true,
});
const AuditLog = grpc.loadPackageDefinition(pkg).teleport as any;
const Service = AuditLog.auditlog.v1.AuditLogService as grpc.ServiceClientConstructor;

type Client = InstanceType<grpc.ServiceClientConstructor>;
const ts = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
const day = (d: string) => ts(Date.parse(`${d}T12:00:00Z`));
const HOUR = 3600_000;

function meta(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('version', '17.4.2');
  return m;
}

function connect(address: string, ca: string, client?: { cert: string; key: string }): Client {
  const creds = grpc.credentials.createSsl(
    Buffer.from(ca),
    client ? Buffer.from(client.key) : null,
    client ? Buffer.from(client.cert) : null,
  );
  return new Service(address, creds, {
    'grpc.ssl_target_name_override': AUTH_SERVER_NAME,
    'grpc.default_authority': AUTH_SERVER_NAME,
  });
}

interface Streamed<T> {
  items: T[];
  error?: grpc.ServiceError;
}

function stream<T>(client: Client, rpc: string, req: object): Promise<Streamed<T>> {
  return new Promise((resolve) => {
    const items: T[] = [];
    const call = (client as any)[rpc](req, meta()) as grpc.ClientReadableStream<T>;
    call.on('data', (d: T) => items.push(d));
    call.on('error', (error: grpc.ServiceError) => resolve({ items, error }));
    call.on('end', () => resolve({ items }));
  });
}

function unary<T>(client: Client, rpc: string, req: object): Promise<T> {
  return new Promise((resolve, reject) =>
    (client as any)[rpc](req, meta(), (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

// google.protobuf.Struct as decoded by proto-loader -> plain JSON
function fromValue(v: any): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('numberValue' in v) return v.numberValue;
  if ('boolValue' in v) return v.boolValue;
  if ('structValue' in v) return fromStruct(v.structValue);
  if ('listValue' in v) return v.listValue.values.map(fromValue);
  return null;
}
function fromStruct(s: any): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s.fields ?? {}).map(([k, v]) => [k, fromValue(v)]));
}

interface WireEvent {
  type: string;
  id: string;
  time: { seconds: string; nanos: number };
  index: string;
  unstructured: unknown;
}
const wireMs = (e: WireEvent) => Number(e.time.seconds) * 1000 + e.time.nanos / 1e6;

async function exportChunk(client: Client, date: string, chunk: string, cursor = '') {
  return stream<{ event: WireEvent; cursor: string }>(client, 'ExportUnstructuredEvents', {
    date: day(date),
    chunk,
    cursor,
  });
}

async function chunksOf(client: Client, date: string): Promise<string[]> {
  const r = await stream<{ chunk: string }>(client, 'GetEventExportChunks', { date: day(date) });
  assert.equal(r.error, undefined);
  return r.items.map((c) => c.chunk);
}

async function searchAll(client: Client, req: object, limit: number): Promise<{ pages: number; events: WireEvent[] }> {
  const events: WireEvent[] = [];
  let key = '';
  let pages = 0;
  do {
    const page = await unary<{ items: WireEvent[]; last_key: string }>(client, 'GetUnstructuredEvents', {
      ...req,
      limit,
      start_key: key,
    });
    pages++;
    assert.ok(page.items.length <= limit);
    events.push(...page.items);
    key = page.last_key;
    assert.ok(pages < 10_000, 'paging does not end');
  } while (key !== '');
  return { pages, events };
}

let tls: ReturnType<typeof createFakeTeleportTls>;
let fixture: FakeDataset;
let fake: FakeTeleport; // serves the hand-written fixture
let gen: FakeTeleport; // serves a generated dataset
let clientCert: { cert: string; key: string };
let client: Client;
let genClient: Client;
const generated = generatedDataset({
  dates: ['2026-11-20', '2026-11-21', '2026-11-23'],
  eventsPerDate: 97,
  chunksPerDate: 3,
  sessions: { count: 3, eventsPerSession: 100_000 },
  failedLoginsFor: { user: 'mallory', count: 4 },
  seed: 7,
});

before(async () => {
  tls = createFakeTeleportTls();
  fixture = loadFixtureDataset();
  fake = await startFakeTeleport({ tls, dataset: fixture });
  gen = await startFakeTeleport({ tls, dataset: generated });
  clientCert = fake.issueClientCert({ user: 'teleport-event-handler' });
  client = connect(fake.address, fake.ca, clientCert);
  genClient = connect(gen.address, gen.ca, clientCert);
});

after(async () => {
  client?.close();
  genClient?.close();
  await fake?.close();
  await gen?.close();
});

test('chunks are listed per UTC date; a date without events and the probe date give empty streams', async () => {
  const may1 = await chunksOf(client, '2024-05-01');
  const may2 = await chunksOf(client, '2024-05-02');
  assert.equal(may1.length, 4); // 12 events in chunks of 3
  assert.equal(may2.length, 2); // 6 events
  assert.equal(new Set([...may1, ...may2]).size, 6);
  assert.deepEqual(await chunksOf(client, '2024-05-03'), []);
  const probe = await stream(client, 'GetEventExportChunks', { date: ts(Date.now() + 48 * HOUR) });
  assert.deepEqual(probe, { items: [] });
  // what the client sent is recorded
  const last = fake.calls.GetEventExportChunks!.last!;
  assert.equal(last.version, '17.4.2');
  assert.equal(last.user, 'teleport-event-handler');
  assert.ok(fake.calls.GetEventExportChunks!.count >= 4);
});

test('exporting every chunk yields every fixture event once, with its JSON intact', async () => {
  const seen: Record<string, unknown>[] = [];
  for (const date of ['2024-05-01', '2024-05-02']) {
    for (const chunk of await chunksOf(client, date)) {
      const r = await exportChunk(client, date, chunk);
      assert.equal(r.error, undefined);
      for (const { event } of r.items) {
        const json = fromStruct(event.unstructured);
        assert.equal(event.id, json.uid);
        assert.equal(event.type, json.event);
        assert.equal(Number(event.index), json.ei);
        assert.equal(new Date(wireMs(event)).toISOString(), json.time);
        assert.equal(utcDate(wireMs(event)), date);
        seen.push(json);
      }
    }
  }
  const expected = Array.from({ length: fixture.events.length }, (_, i) => fixture.events.eventAt(i).json);
  assert.deepEqual(seen, expected);
});

test('export resumes after any cursor with exactly the remaining events; bad cursors and chunks are refused', async () => {
  const [chunk] = await chunksOf(genClient, '2026-11-21');
  const full = await exportChunk(genClient, '2026-11-21', chunk!);
  assert.equal(full.error, undefined);
  assert.ok(full.items.length >= 30);
  const ids = full.items.map((m) => m.event.id);
  for (const k of [0, 5, full.items.length - 2]) {
    const rest = await exportChunk(genClient, '2026-11-21', chunk!, full.items[k]!.cursor);
    assert.equal(rest.error, undefined);
    assert.deepEqual(
      rest.items.map((m) => m.event.id),
      ids.slice(k + 1),
    );
  }
  const end = await exportChunk(genClient, '2026-11-21', chunk!, full.items.at(-1)!.cursor);
  assert.deepEqual(end, { items: [] });

  const [other] = await chunksOf(genClient, '2026-11-20');
  const foreign = await exportChunk(genClient, '2026-11-20', other!, full.items[3]!.cursor);
  assert.equal(foreign.error?.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(
    (await exportChunk(genClient, '2026-11-21', chunk!, 'garbage')).error?.code,
    grpc.status.INVALID_ARGUMENT,
  );
  assert.equal((await exportChunk(genClient, '2026-11-21', 'no-such-chunk')).error?.code, grpc.status.NOT_FOUND);
  assert.equal((await exportChunk(genClient, '2026-11-22', chunk!)).error?.code, grpc.status.NOT_FOUND);
});

test('legacy paging covers every event exactly once, in time order, live events included', async () => {
  const live = [
    {
      cluster_name: 'tele.example.com',
      code: 'T1000I',
      ei: 0,
      event: 'user.login',
      method: 'local',
      success: true,
      time: '2026-11-21T06:00:00.000Z',
      uid: 'live-1',
      user: 'zoe',
    },
    {
      cluster_name: 'tele.example.com',
      code: 'T1000I',
      ei: 0,
      event: 'user.login',
      method: 'local',
      success: true,
      time: '2026-11-22T06:00:00.000Z',
      uid: 'live-2',
      user: 'zoe',
    },
  ];
  const newChunks = gen.addEvents(live);
  assert.equal(newChunks.length, 2);
  assert.ok((await chunksOf(genClient, '2026-11-22')).includes(newChunks[1]!));

  const window = {
    namespace: 'default',
    start_date: day('2026-11-19'),
    end_date: day('2026-11-24'),
    event_types: [],
    order: 1,
  };
  const { events, pages } = await searchAll(genClient, window, 7);
  const expected = Array.from({ length: generated.events.length }, (_, i) => generated.events.eventAt(i).id).concat([
    'live-1',
    'live-2',
  ]);
  assert.equal(events.length, expected.length);
  assert.deepEqual(new Set(events.map((e) => e.id)), new Set(expected));
  assert.equal(new Set(events.map((e) => e.id)).size, events.length);
  for (let i = 1; i < events.length; i++) assert.ok(wireMs(events[i - 1]!) <= wireMs(events[i]!), `page order at ${i}`);
  // 293 events in pages of 7: a full last page is followed by an empty one, otherwise the last is short
  assert.equal(pages, Math.floor(expected.length / 7) + 1);

  // a type filter keeps exactly the matching events
  const logins = await searchAll(genClient, { ...window, event_types: ['user.login'] }, 50);
  let count = 2;
  for (let i = 0; i < generated.events.length; i++) if (generated.events.typeAt(i) === 'user.login') count++;
  assert.equal(logins.events.length, count);
  assert.ok(logins.events.every((e) => e.type === 'user.login'));
});

test('legacy search: both window ends inclusive, descending by default, limit checked', async () => {
  const midnight = Date.parse('2024-05-02T00:00:00.000Z');
  const at = await unary<{ items: WireEvent[]; last_key: string }>(client, 'GetUnstructuredEvents', {
    namespace: 'default',
    start_date: ts(midnight),
    end_date: ts(midnight),
    limit: 10,
    order: 1,
  });
  assert.deepEqual(
    at.items.map((e) => e.id),
    ['3c9b5f1e-7a2d-4e68-b4c0-8d7e6f5a4b3c'],
  );
  assert.equal(at.last_key, '');

  const desc = await unary<{ items: WireEvent[] }>(client, 'GetUnstructuredEvents', {
    namespace: 'default',
    start_date: day('2024-04-30'),
    end_date: day('2024-05-03'),
    limit: 2,
  });
  assert.deepEqual(
    desc.items.map((e) => e.type),
    ['role.created', 'session.upload'],
  );

  await assert.rejects(
    unary(client, 'GetUnstructuredEvents', {
      start_date: day('2024-04-30'),
      end_date: day('2024-05-03'),
      limit: 10_001,
    }),
    (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
  );
  await assert.rejects(
    unary(client, 'GetUnstructuredEvents', {
      start_date: day('2024-04-30'),
      end_date: day('2024-05-03'),
      limit: 5,
      start_key: 'nope',
    }),
    (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT,
  );
});

test('a session recording streams from an index; unknown and missing recordings are NOT_FOUND', async () => {
  const sid = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';
  const all = await stream<WireEvent>(client, 'StreamUnstructuredSessionEvents', { session_id: sid, start_index: 0 });
  assert.equal(all.error, undefined);
  assert.deepEqual(
    all.items.map((e) => e.type),
    ['session.start', 'print', 'print', 'print', 'print', 'print', 'print', 'resize', 'session.end'],
  );
  const print = fromStruct(all.items[2]!.unstructured);
  assert.equal(Buffer.from(print.data as string, 'base64').toString(), 'ls -la\r\n');
  assert.match(all.items[2]!.id, /^[0-9a-f]{64}$/); // no uid: sha-256 of the JSON

  const from5 = await stream<WireEvent>(client, 'StreamUnstructuredSessionEvents', { session_id: sid, start_index: 5 });
  assert.deepEqual(
    from5.items.map((e) => Number(e.index)),
    [5, 6, 7, 8],
  );

  const big = generated.sessionIds[1]!;
  const tail = await stream<WireEvent>(genClient, 'StreamUnstructuredSessionEvents', {
    session_id: big,
    start_index: 99_990,
  });
  assert.deepEqual(
    tail.items.map((e) => Number(e.index)),
    [99_990, 99_991, 99_992, 99_993, 99_994, 99_995, 99_996, 99_997, 99_998, 99_999],
  );
  assert.equal(tail.items.at(-1)!.type, 'session.end');
  assert.equal(fromStruct(tail.items.at(-1)!.unstructured).sid, big);

  for (const missing of ['2f3e0c8e-7d1a-4b6f-9a42-6c0d5e8b1f37', 'no-such-session']) {
    const r = await stream(client, 'StreamUnstructuredSessionEvents', { session_id: missing, start_index: 0 });
    assert.equal(r.error?.code, grpc.status.NOT_FOUND);
  }
});

test('fault: unimplementedExport makes the export RPCs UNIMPLEMENTED while legacy search works', async (t) => {
  t.after(() => (fake.faults.unimplementedExport = false));
  fake.faults.unimplementedExport = true;
  const probe = await stream(client, 'GetEventExportChunks', { date: ts(Date.now() + 48 * HOUR) });
  assert.equal(probe.error?.code, grpc.status.UNIMPLEMENTED);
  assert.equal((await exportChunk(client, '2024-05-01', fixture.chunks[0]!.id)).error?.code, grpc.status.UNIMPLEMENTED);
  const page = await unary<{ items: WireEvent[] }>(client, 'GetUnstructuredEvents', {
    start_date: day('2024-04-30'),
    end_date: day('2024-05-03'),
    limit: 3,
    order: 1,
  });
  assert.equal(page.items.length, 3);
});

test('fault: unavailableAfter breaks a stream after n messages, once or every time', async (t) => {
  t.after(() => (gen.faults.unavailableAfter = undefined));
  const [chunk] = await chunksOf(genClient, '2026-11-20');
  const full = await exportChunk(genClient, '2026-11-20', chunk!);

  gen.faults.unavailableAfter = { messages: 4, times: 1 };
  const broken = await exportChunk(genClient, '2026-11-20', chunk!);
  assert.equal(broken.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(broken.items.length, 4);
  assert.equal(gen.faults.unavailableAfter, undefined); // used up
  const resumed = await exportChunk(genClient, '2026-11-20', chunk!, broken.items.at(-1)!.cursor);
  assert.equal(resumed.error, undefined);
  assert.deepEqual(
    [...broken.items, ...resumed.items].map((m) => m.event.id),
    full.items.map((m) => m.event.id),
  );

  gen.faults.unavailableAfter = { messages: 2, times: Infinity, rpcs: ['StreamUnstructuredSessionEvents'] };
  for (let i = 0; i < 2; i++) {
    const r = await stream(genClient, 'StreamUnstructuredSessionEvents', {
      session_id: generated.sessionIds[0],
      start_index: 10,
    });
    assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(r.items.length, 2);
  }
  assert.equal((await exportChunk(genClient, '2026-11-20', chunk!)).error, undefined); // other rpcs unaffected
});

test('fault: notFoundSessions answers NOT_FOUND a number of times, then the recording appears', async () => {
  const sid = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';
  fake.faults.notFoundSessions.set(sid, 2);
  for (let i = 0; i < 2; i++) {
    const r = await stream(client, 'StreamUnstructuredSessionEvents', { session_id: sid, start_index: 0 });
    assert.equal(r.error?.code, grpc.status.NOT_FOUND);
  }
  const ok = await stream(client, 'StreamUnstructuredSessionEvents', { session_id: sid, start_index: 0 });
  assert.equal(ok.error, undefined);
  assert.equal(ok.items.length, 9);
});

test('fault: failNextCalls fails the next calls of an rpc with the given code', async () => {
  fake.faults.failNextCalls.push({ rpc: 'GetUnstructuredEvents', code: grpc.status.RESOURCE_EXHAUSTED, times: 2 });
  const req = { start_date: day('2024-04-30'), end_date: day('2024-05-03'), limit: 3, order: 1 };
  for (let i = 0; i < 2; i++) {
    await assert.rejects(
      unary(client, 'GetUnstructuredEvents', req),
      (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED,
    );
  }
  assert.equal((await unary<{ items: unknown[] }>(client, 'GetUnstructuredEvents', req)).items.length, 3);
  assert.equal(fake.faults.failNextCalls.length, 0);
  fake.faults.failNextCalls.push({ rpc: '*', code: grpc.status.PERMISSION_DENIED, times: 1 });
  assert.equal(
    (await stream(client, 'GetEventExportChunks', { date: day('2024-05-01') })).error?.code,
    grpc.status.PERMISSION_DENIED,
  );
});

test('fault: slowStreamMs delays each message (checked as a lower bound only)', async (t) => {
  t.after(() => (fake.faults.slowStreamMs = 0));
  fake.faults.slowStreamMs = 40;
  const started = Date.now();
  const r = await exportChunk(client, '2024-05-01', fixture.chunks[0]!.id);
  assert.equal(r.items.length, 3);
  assert.ok(Date.now() - started >= 3 * 40 - 5);
});

test('streams[rpc] counts the server streams open now and the most at once; NOT_FOUND opens none', async (t) => {
  t.after(() => (fake.faults.stallAfter = undefined));
  const sid = '8d57a9d5-3848-5ce2-a326-85eb4a6d2eed';
  const counter = fake.streams.StreamUnstructuredSessionEvents;
  fake.resetCalls();
  assert.deepEqual(counter, { open: 0, peak: 0 });
  // held open (silent after one message) until cancelled: three at once, whatever the machine's speed
  fake.faults.stallAfter = { messages: 1, times: 3, rpcs: ['StreamUnstructuredSessionEvents'] };
  const held = [0, 1, 2].map(() => {
    const call = (client as any).StreamUnstructuredSessionEvents(
      { session_id: sid, start_index: 0 },
      meta(),
    ) as grpc.ClientReadableStream<unknown>;
    const ended = new Promise<void>((resolve) => {
      call.on('error', () => resolve());
      call.on('end', () => resolve());
    });
    call.on('data', () => {});
    return { call, ended };
  });
  const deadline = Date.now() + 10_000;
  while (counter.open < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(counter, { open: 3, peak: 3 });
  for (const h of held) h.call.cancel();
  await Promise.all(held.map((h) => h.ended));
  while (counter.open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(counter, { open: 0, peak: 3 }, 'cancelled streams are closed, the peak stays');

  fake.resetCalls();
  assert.deepEqual(counter, { open: 0, peak: 0 });
  const missing = await stream(client, 'StreamUnstructuredSessionEvents', {
    session_id: 'no-such-session',
    start_index: 0,
  });
  assert.equal(missing.error?.code, grpc.status.NOT_FOUND);
  assert.equal(counter.peak, 0);
  const done = await stream(client, 'StreamUnstructuredSessionEvents', { session_id: sid, start_index: 0 });
  assert.equal(done.items.length, 9);
  assert.deepEqual(counter, { open: 0, peak: 1 }, 'an ended stream is closed');
  assert.equal(fake.streams.ExportUnstructuredEvents.peak, 0, 'counted per rpc');
});

test('restart drops in-flight streams and serves again on the same port', async (t) => {
  t.after(() => (gen.faults.slowStreamMs = 0));
  const port = gen.port;
  const before = gen.calls.ExportUnstructuredEvents!.count;
  gen.faults.slowStreamMs = 20;
  const [chunk] = await chunksOf(genClient, '2026-11-23');
  const inFlight = exportChunk(genClient, '2026-11-23', chunk!);
  while (gen.calls.ExportUnstructuredEvents!.count === before) await new Promise((r) => setTimeout(r, 10));
  await gen.restart({ downMs: 50 });
  const dropped = await inFlight;
  assert.ok(dropped.error, 'the in-flight stream fails');
  assert.ok([grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL].includes(dropped.error!.code));
  gen.faults.slowStreamMs = 0;
  assert.equal(gen.port, port);
  const again = await exportChunk(genClient, '2026-11-23', chunk!);
  assert.equal(again.error, undefined);
  assert.ok(again.items.length > dropped.items.length);
});

test('streams honour back-pressure: a paused client stops event generation', { timeout: 30_000 }, async () => {
  let built = 0;
  const big = generatedDataset({ dates: ['2026-11-20'], eventsPerDate: 20_000, chunksPerDate: 1, seed: 3 });
  const counting: FakeDataset = {
    ...big,
    events: { ...big.events, length: big.events.length, eventAt: (i) => (built++, big.events.eventAt(i)) },
  };
  const slowFake = await startFakeTeleport({ tls, dataset: counting });
  const c = connect(slowFake.address, slowFake.ca, clientCert);
  try {
    let received = 0;
    const call = (c as any).ExportUnstructuredEvents(
      { date: day('2026-11-20'), chunk: big.chunks[0]!.id, cursor: '' },
      meta(),
    ) as grpc.ClientReadableStream<unknown>;
    const done = new Promise<void>((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.on('data', () => {
      if (++received === 1) call.pause();
    });
    // wait until generation stops moving
    let last = -1;
    while (built !== last) {
      last = built;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(built < 2000, `the server built ${built} of 20000 events for a paused client`);
    call.resume();
    await done;
    assert.equal(received, 20_000);
    assert.equal(built, 20_000);
  } finally {
    c.close();
    await slowFake.close();
  }
});

test('clients without a certificate, with a foreign one, or with an expired one are refused', async () => {
  const other = createCA();
  const foreign = createCert(other, { usage: 'client', commonName: 'intruder' });
  const expired = fake.issueClientCert({ notBefore: new Date(Date.now() - 48 * HOUR), ttlHours: 1 });
  for (const cert of [undefined, foreign, expired]) {
    const c = connect(fake.address, fake.ca, cert);
    try {
      const r = await stream(c, 'GetEventExportChunks', { date: day('2024-05-01') });
      assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
      assert.equal(r.items.length, 0);
    } finally {
      c.close();
    }
  }
});

test('addService serves another service on the same port; its handler can record calls, fail on demand and keep locks', async () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const parse = (b: Buffer) => JSON.parse(b.toString());
  const definition: grpc.ServiceDefinition = {
    UpsertLock: {
      path: '/proto.AuthService/UpsertLock',
      requestStream: false,
      responseStream: false,
      requestSerialize: json,
      requestDeserialize: parse,
      responseSerialize: json,
      responseDeserialize: parse,
    },
  };
  fake.addService(definition, {
    UpsertLock(call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const failure = fake.beginCall('UpsertLock', call);
      if (failure) return cb(failure);
      fake.locks.push(call.request);
      cb(null, {});
    },
  });
  const Lock = grpc.makeGenericClientConstructor(definition, 'AuthService');
  const creds = grpc.credentials.createSsl(
    Buffer.from(fake.ca),
    Buffer.from(clientCert.key),
    Buffer.from(clientCert.cert),
  );
  const c = new Lock(fake.address, creds, { 'grpc.ssl_target_name_override': AUTH_SERVER_NAME });
  const upsert = (req: object) =>
    new Promise((resolve, reject) =>
      (c as any).UpsertLock(req, meta(), (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))),
    );
  try {
    const lock = {
      kind: 'lock',
      version: 'v2',
      metadata: { name: 'mallory-failed-logins' },
      spec: { target: { user: 'mallory' } },
    };
    await upsert(lock);
    assert.deepEqual(fake.locks, [lock]);
    assert.equal(fake.calls.UpsertLock!.count, 1);
    assert.equal(fake.calls.UpsertLock!.last!.version, '17.4.2');
    fake.faults.failNextCalls.push({ rpc: 'UpsertLock', code: grpc.status.UNAVAILABLE, times: 1 });
    await assert.rejects(upsert(lock), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    assert.equal(fake.locks.length, 1);
  } finally {
    c.close();
  }
});

test('odd JSON values survive the wire encoding', async () => {
  const odd = {
    cluster_name: 'tele.example.com',
    event: 'exec',
    code: 'T3002I',
    ei: 3,
    time: '2024-05-01T13:00:00.000Z',
    uid: 'odd-1',
    command: 'echo "héllo ✓ 😀" | wc -c',
    long: 'x'.repeat(300),
    empty: '',
    nothing: null,
    nested: { list: [1, -2.5, 1e300, true, false, null, 'a', [], {}], deep: { deeper: { deepest: 'ok' } } },
    big: 2 ** 53 - 1,
  };
  const [chunk] = fake.addEvents([odd]);
  const r = await exportChunk(client, '2024-05-01', chunk!);
  assert.equal(r.error, undefined);
  assert.deepEqual(fromStruct(r.items[0]!.event.unstructured), odd);
  assert.equal(r.items[0]!.event.index, '3');
});

test('with no options: its own TLS, three recent days with recordings, and live events in new chunks of today', async () => {
  const demo = await startFakeTeleport();
  const c = connect(demo.address, demo.ca, demo.issueClientCert());
  try {
    const yesterday = utcDate(Date.now() - 24 * HOUR);
    const today = utcDate(Date.now());
    const chunks = await chunksOf(c, yesterday);
    assert.equal(chunks.length, 3);
    assert.deepEqual(await chunksOf(c, today), []);
    const uploads = await searchAll(
      c,
      { start_date: ts(Date.now() - 96 * HOUR), end_date: ts(Date.now()), event_types: ['session.upload'], order: 1 },
      100,
    );
    assert.equal(uploads.events.length, 4);
    for (const e of uploads.events) {
      const r = await stream<WireEvent>(c, 'StreamUnstructuredSessionEvents', {
        session_id: fromStruct(e.unstructured).sid,
        start_index: 0,
      });
      assert.equal(r.error, undefined);
      assert.equal(r.items.at(-1)!.type, 'session.end');
    }

    const live = sampleEvents({ count: 5, startMs: Date.parse(`${today}T00:00:01Z`), clusterName: demo.clusterName });
    assert.equal(new Set(live.map((e) => e.uid)).size, 5);
    const [first] = demo.addEvents(live);
    const [second] = demo.addEvents(sampleEvents({ count: 2, startMs: Date.parse(`${today}T00:00:10Z`) }));
    assert.deepEqual(await chunksOf(c, today), [first, second]);
    const r = await exportChunk(c, today, first!);
    assert.deepEqual(
      r.items.map((m) => fromStruct(m.event.unstructured)),
      live,
    );
  } finally {
    c.close();
    await demo.close();
  }
});

test('a generated 1,000,000-event dataset costs almost no memory and reads consistently at random indexes', () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const ds = generatedDataset({
    dates: { start: '2026-11-01', days: 20 },
    eventsPerDate: 50_000,
    chunksPerDate: 8,
    sessions: { count: 200, eventsPerSession: 100_000 },
    failedLoginsFor: { user: 'mallory', count: 10 },
    seed: 42,
  });
  gc();
  const cost = process.memoryUsage().heapUsed - heapBefore;
  assert.equal(ds.events.length, 1_000_000);
  assert.ok(cost < 8 * 1024 * 1024, `dataset costs ${cost} bytes`);

  const types = new Set([
    'user.login',
    'cert.create',
    'db.session.query',
    'access_request.create',
    'lock.created',
    'role.created',
    'session.start',
    'session.end',
    'session.upload',
  ]);
  let rnd = 12345;
  const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
  const picks = Array.from({ length: 2000 }, () => next() % ds.events.length).sort((a, b) => a - b);
  const uids = new Set<string>();
  let prev = -Infinity;
  for (const g of picks) {
    const e = ds.events.eventAt(g);
    assert.ok(types.has(e.type), e.type);
    assert.equal(e.json.event, e.type);
    assert.equal(e.json.cluster_name, 'tele.example.com');
    assert.equal(e.json.time, iso(e.timeMs));
    assert.equal(ds.events.timeAt(g), e.timeMs);
    assert.equal(ds.events.typeAt(g), e.type);
    assert.ok(e.timeMs >= prev);
    prev = e.timeMs;
    uids.add(e.id);
    const chunk = ds.chunks.find((c) => g >= c.start && g < c.end)!;
    assert.equal(utcDate(e.timeMs), chunk.date);
    assert.deepEqual(ds.events.eventAt(g), e); // deterministic
  }
  assert.equal(uids.size, new Set(picks).size);

  // the burst, the sessions and their recordings are where they should be
  let failed = 0;
  for (let g = 0; g < 50_000; g++)
    if (ds.events.typeAt(g) === 'user.login' && ds.events.eventAt(g).json.user === 'mallory') failed++;
  assert.equal(failed, 10);
  const sid = ds.sessionIds[137]!;
  const rec = ds.recording(sid)!;
  assert.equal(rec.length, 100_000);
  for (const i of [0, 1, 64, 777, 54_321, 99_999]) {
    const e = rec.eventAt(i);
    assert.equal(e.index, i);
    if (e.type === 'print') assert.ok(Buffer.from(e.json.data as string, 'base64').length === e.json.bytes);
    else assert.equal(e.json.sid, sid);
  }
  assert.equal(ds.recording('nope'), undefined);
});
