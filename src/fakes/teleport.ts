/**
 * a fake Teleport Auth Service: a real @grpc/grpc-js server over mutual TLS serving
 * `teleport.auditlog.v1.AuditLogService` (proto/teleport/auditlog/v1/auditlog.proto) the way a real cluster
 * does on the wire. used by tests, the benchmark and the demo, in-process.
 *
 *   const fake = await startFakeTeleport({ dataset: generatedDataset({ dates: ['2026-11-20'], eventsPerDate: 500 }) });
 *   const { cert, key } = fake.issueClientCert({ user: 'teleport-event-handler' });
 *   // dial fake.address with root CA `fake.ca`, that cert/key, and grpc.ssl_target_name_override =
 *   // 'teleport.cluster.local' (the server cert's DNS SAN; localhost and 127.0.0.1 are in it too)
 *   await fake.close();
 *
 * RPCs (client certificate required and verified against `ca`; others are refused in the TLS handshake):
 * - GetEventExportChunks(date): streams the chunk ids of that UTC date; empty stream for a date without events
 *   (so the probe at now + 2 days is empty). chunk ids are opaque. a listed chunk never grows: events added
 *   later (`addEvents`) arrive in new chunks, which is why clients re-list recent dates.
 * - ExportUnstructuredEvents(date, chunk, cursor): streams the chunk's events after `cursor` ('' = from the
 *   start), each with the opaque cursor to resume after it. unknown chunk, or a chunk of another date:
 *   NOT_FOUND. malformed cursor, or one from another chunk: INVALID_ARGUMENT.
 * - GetUnstructuredEvents(namespace, start_date, end_date, event_types, limit, start_key, order): one page of
 *   all events with start_date <= time <= end_date (both ends inclusive, as the real backends'
 *   `BETWEEN`), of `event_types` (empty = all), in ascending order when order = ORDER_ASCENDING, else
 *   descending (the enum's 0 value). limit <= 0 means 500; above 10000 is INVALID_ARGUMENT. a page also stops
 *   before ~2 MiB. `last_key` is set whenever the page stopped at its limit (or the byte cap), so a full page
 *   can be followed by an empty one with last_key ''. a bad start_key is INVALID_ARGUMENT.
 * - StreamUnstructuredSessionEvents(session_id, start_index): the recording's events with ei >= start_index
 *   (session.start, print with base64 `data`, resize, session.end). NOT_FOUND for sessions without a recording.
 * every message carries `EventUnstructured { type, id (uid, else sha-256 hex of the JSON), time, index (ei),
 * unstructured }`. streams honour back-pressure: nothing is generated ahead of what the client reads.
 *
 * test hooks, all mutable at run time:
 * - `faults` (see FakeTeleportFaults): unimplementedExport, unavailableAfter, stallAfter, notFoundSessions, slowStreamMs,
 *   failNextCalls. `restart({ downMs })` closes every connection and listens again on the same port.
 * - `calls[rpc]`: { count, last, recent } with each request as decoded, the `version` metadata and the
 *   client certificate's CN. `resetCalls()` zeroes them.
 * - `streams[rpc]`: { open, peak }: server streams of that RPC open now and the most open at once. a stream is
 *   open while the server sends it, until its end, failure or cancel; NOT_FOUND and injected call failures never
 *   open one. `resetCalls()` sets peak back to open.
 * - `addEvents(events)` (JSON objects, `time` defaults to now), `addRecording(sid, events)`.
 * - `addService(definition, implementation)` (or the `services` option) registers more services on this
 *   server, e.g. `/proto.AuthService/UpsertLock`; its handler should call `beginCall('UpsertLock', call)`
 *   (records the call, returns an injected failure to answer with, if any) and push the request to `locks`.
 *
 * also exported: createFakeTeleportTls() (CA + server cert; generate once, pass as `tls` to several fakes),
 * generatedDataset(options) (lazy, deterministic, any size), loadFixtureDataset() (fixtures/teleport/
 * small-cluster.json), datasetFromEvents(events, options), defaultDataset(), sampleEvents({ count }) (live
 * events for addEvents).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { hostPort } from '../format.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCA, createCert } from '../tls/certs.js';
import {
  type EventRun,
  type FakeDataset,
  type FakeEvent,
  defaultDataset,
  fakeEvent,
  listRecording,
  projectRoot,
  utcDate,
} from './teleport-dataset.js';
import { type Json, iso, mix32, opaqueId } from './teleport-events.js';
import { LiveEvents, type SearchSource, decodeSearchKey, encodeSearchKey, searchPage } from './teleport-search.js';
import { encodeChunk, encodeEvent, encodeEventsPage, encodeExportEvent } from './teleport-wire.js';

export type AuditRpc =
  'GetEventExportChunks' | 'ExportUnstructuredEvents' | 'GetUnstructuredEvents' | 'StreamUnstructuredSessionEvents';
export const AUDIT_RPCS: readonly AuditRpc[] = [
  'GetEventExportChunks',
  'ExportUnstructuredEvents',
  'GetUnstructuredEvents',
  'StreamUnstructuredSessionEvents',
];
export const AUDIT_SERVICE = 'teleport.auditlog.v1.AuditLogService';
/** the DNS name clients put in the TLS server name, as with a real Auth Service */
export const AUTH_SERVER_NAME = 'teleport.cluster.local';

/** server TLS material; `caKey` lets `issueClientCert` sign client certificates */
export interface FakeTeleportTls {
  ca: string;
  cert: string;
  key: string;
  caKey?: string;
}

export interface FakeTeleportOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (any free port) */
  port?: number;
  /** default: a new CA and a server cert for teleport.cluster.local, localhost and 127.0.0.1 */
  tls?: FakeTeleportTls;
  /** default: defaultDataset(clusterName) — three recent days, 600 events, 4 recordings, a failed-login burst */
  dataset?: FakeDataset;
  /** default: the dataset's, else 'tele.example.com'; names the default dataset's cluster and the CA */
  clusterName?: string;
  /** more services to serve beside the audit log service */
  services?: Array<{ definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }>;
}

export interface FakeTeleportFaults {
  /** GetEventExportChunks and ExportUnstructuredEvents answer UNIMPLEMENTED (an older Auth Service) */
  unimplementedExport: boolean;
  /**
   * a server stream fails with UNAVAILABLE once it has sent `messages` messages (instead of the next message
   * or its normal end); `times` streams fail this way (Infinity = every one), then the fault clears itself.
   * `rpcs` limits it to some streaming RPCs (default all).
   */
  unavailableAfter?: { messages: number; times: number; rpcs?: AuditRpc[] };
  /**
   * a server stream goes silent once it has sent `messages` messages: it neither sends nor ends until the client
   * cancels it (a stalled server or proxy, the connection still up); `times` streams, then the fault clears itself
   */
  stallAfter?: { messages: number; times: number; rpcs?: AuditRpc[] };
  /** session id -> how many more StreamUnstructuredSessionEvents calls answer NOT_FOUND (Infinity = always) */
  notFoundSessions: Map<string, number>;
  /** delay before each streamed message, ms */
  slowStreamMs: number;
  /**
   * GetUnstructuredEvents compares whole seconds, as backends that store event times in seconds do: both ends of
   * the window are truncated to their second, and an event matches when its second lies between them
   */
  searchWholeSeconds?: boolean;
  /** the next `times` calls of `rpc` ('*' = any; `when` picks calls by request) fail with `code` before doing anything */
  failNextCalls: Array<{
    rpc: AuditRpc | string;
    code: grpc.status;
    times: number;
    details?: string;
    when?: (request: any) => boolean;
  }>;
}

export interface RecordedCall {
  rpc: string;
  /** the request as decoded by @grpc/proto-loader (keepCase, longs as strings, defaults) */
  request: unknown;
  /** gRPC metadata `version`, as real clients send */
  version?: string;
  /** CN of the client certificate */
  user?: string;
  at: number;
}

export interface RpcCalls {
  count: number;
  last?: RecordedCall;
  /** the latest calls, oldest first (at most 200) */
  recent: RecordedCall[];
}

export interface OpenStreams {
  /** server streams open now */
  open: number;
  /** the most open at once since the start or the last resetCalls() */
  peak: number;
}

export interface FakeTeleport {
  /** `host:port` */
  readonly address: string;
  readonly port: number;
  /** PEM of the CA clients must trust (the identity file's TLS CA); it also signs client certificates */
  readonly ca: string;
  readonly clusterName: string;
  readonly dataset: FakeDataset;
  readonly faults: FakeTeleportFaults;
  /** per RPC name; the four audit RPCs are always present, added services appear on their first call */
  readonly calls: Record<string, RpcCalls>;
  /** per streaming audit RPC: how many of its server streams are open, and the most at once */
  readonly streams: Record<AuditRpc, OpenStreams>;
  /** lock requests received by an added UpsertLock handler */
  readonly locks: unknown[];
  /** a client certificate signed by `ca` (CN = user, default 'teleport-event-handler'; ttl default 12 h) */
  issueClientCert(opts?: { user?: string; ttlHours?: number; notBefore?: Date }): { cert: string; key: string };
  /** adds live events; each call makes one new chunk per UTC date touched. returns the new chunk ids */
  addEvents(events: Json[]): string[];
  /** adds (or replaces) a session recording */
  addRecording(sid: string, events: Json[]): void;
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void;
  /** for added services' handlers: records the call and returns an injected failure to answer with, if any */
  beginCall(
    rpc: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ): grpc.ServiceError | undefined;
  resetCalls(): void;
  /** drops every connection (clients see UNAVAILABLE), stays down `downMs`, then listens on the same port */
  restart(opts?: { downMs?: number }): Promise<void>;
  close(): Promise<void>;
}

/** default page size of GetUnstructuredEvents and the largest allowed, as in teleport's defaults */
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 10_000;
/** bytes a search page may carry, well under gRPC's 4 MiB default receive limit */
const MAX_PAGE_BYTES = 2 * 1024 * 1024;
const RECENT_CALLS = 200;

/** a CA (named after the cluster, as teleport's) and a server certificate (slow: two RSA keys); share it */
export function createFakeTeleportTls(clusterName = 'tele.example.com'): Required<FakeTeleportTls> {
  const ca = createCA({ commonName: clusterName });
  const server = createCert(ca, {
    usage: 'server',
    commonName: AUTH_SERVER_NAME,
    dnsNames: [AUTH_SERVER_NAME, `*.${AUTH_SERVER_NAME}`, 'localhost'],
    ips: ['127.0.0.1', '::1'],
  });
  return { ca: ca.cert, caKey: ca.key, cert: server.cert, key: server.key };
}

let auditDefinition: grpc.ServiceDefinition | undefined;

/** the audit log service with pass-through response serializers: handlers write bytes from teleport-wire */
function auditService(): grpc.ServiceDefinition {
  if (auditDefinition) return auditDefinition;
  const pkg = protoLoader.loadSync('teleport/auditlog/v1/auditlog.proto', {
    keepCase: true,
    longs: String,
    defaults: true,
    includeDirs: [join(projectRoot(), 'proto')],
  });
  const def = pkg[AUDIT_SERVICE] as grpc.ServiceDefinition;
  const bytes = (b: Buffer): Buffer => b;
  auditDefinition = Object.fromEntries(
    Object.entries(def).map(([name, m]) => [name, { ...m, responseSerialize: bytes }]),
  ) as grpc.ServiceDefinition;
  return auditDefinition;
}

interface ChunkRef {
  date: string;
  length: number;
  eventAt(i: number): FakeEvent;
  /** binds cursors to their chunk */
  tag: string;
}

type WritableCall = grpc.ServerWritableStream<any, Buffer>;

function cancelled(call: WritableCall): Promise<void> {
  return call.cancelled ? Promise.resolve() : new Promise((resolve) => call.once('cancelled', () => resolve()));
}

class Fake implements FakeTeleport {
  readonly faults: FakeTeleportFaults = {
    unimplementedExport: false,
    notFoundSessions: new Map(),
    slowStreamMs: 0,
    failNextCalls: [],
  };
  readonly calls: Record<string, RpcCalls> = {};
  readonly streams = Object.fromEntries(AUDIT_RPCS.map((rpc) => [rpc, { open: 0, peak: 0 }])) as Record<
    AuditRpc,
    OpenStreams
  >;
  readonly locks: unknown[] = [];
  readonly clusterName: string;
  port = 0;
  private server: grpc.Server | undefined;
  private readonly services: Array<{
    definition: grpc.ServiceDefinition;
    implementation: grpc.UntypedServiceImplementation;
  }> = [];
  private readonly chunkIds = new Map<string, string[]>(); // date -> chunk ids
  private readonly chunksById = new Map<string, ChunkRef>();
  private readonly live = new LiveEvents();
  private readonly sources: SearchSource[];
  private readonly recordings = new Map<string, EventRun>();
  private liveChunks = 0;

  constructor(
    readonly dataset: FakeDataset,
    private readonly tls: FakeTeleportTls,
    private readonly host: string,
    clusterName: string,
  ) {
    this.clusterName = clusterName;
    this.resetCalls();
    for (const c of dataset.chunks) {
      this.addChunk(c.id, {
        date: c.date,
        length: c.end - c.start,
        eventAt: (i) => dataset.events.eventAt(c.start + i),
        tag: cursorTag(c.id),
      });
    }
    this.sources = [{ run: dataset.events, pos: (i) => i }, this.live];
    this.services.push({
      definition: auditService(),
      implementation: {
        GetEventExportChunks: (call: WritableCall) => this.getChunks(call),
        ExportUnstructuredEvents: (call: WritableCall) => this.exportEvents(call),
        GetUnstructuredEvents: (call: grpc.ServerUnaryCall<any, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
          this.search(call, cb),
        StreamUnstructuredSessionEvents: (call: WritableCall) => this.streamSession(call),
      },
    });
  }

  get ca(): string {
    return this.tls.ca;
  }

  get address(): string {
    return hostPort(this.host, this.port);
  }

  issueClientCert(opts: { user?: string; ttlHours?: number; notBefore?: Date } = {}): { cert: string; key: string } {
    if (!this.tls.caKey)
      throw new Error('this fake was given TLS material without caKey: it cannot issue client certificates');
    return createCert(
      { cert: this.tls.ca, key: this.tls.caKey },
      {
        usage: 'client',
        commonName: opts.user ?? 'teleport-event-handler',
        subject: [{ shortName: 'O', value: 'teleport-event-handler' }],
        ttlHours: opts.ttlHours ?? 12,
        notBefore: opts.notBefore,
      },
    );
  }

  addEvents(events: Json[]): string[] {
    const byDate = new Map<string, FakeEvent[]>();
    for (const json of events) {
      const e = fakeEvent(typeof json.time === 'string' ? json : { ...json, time: iso(Date.now()) });
      const date = utcDate(e.timeMs);
      const list = byDate.get(date) ?? [];
      list.push(e);
      byDate.set(date, list);
      this.live.add(e);
    }
    const ids: string[] = [];
    for (const [date, list] of byDate) {
      list.sort((a, b) => a.timeMs - b.timeMs);
      let id: string;
      do id = opaqueId(0x11fe, Date.parse(date) / 86_400_000, this.liveChunks++);
      while (this.chunksById.has(id));
      this.addChunk(id, { date, length: list.length, eventAt: (i) => list[i]!, tag: cursorTag(id) });
      ids.push(id);
    }
    return ids;
  }

  addRecording(sid: string, events: Json[]): void {
    this.recordings.set(sid, listRecording(events));
  }

  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.services.push({ definition, implementation });
    this.server?.addService(definition, implementation);
  }

  resetCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
    for (const rpc of AUDIT_RPCS) this.calls[rpc] = { count: 0, recent: [] };
    // streams open now stay counted: zeroing them would make their end go negative
    for (const s of Object.values(this.streams)) s.peak = s.open;
  }

  beginCall(
    rpc: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ): grpc.ServiceError | undefined {
    const version = call.metadata.get('version')[0];
    const cn = call.getAuthContext?.()?.sslPeerCertificate?.subject?.CN;
    const rec: RecordedCall = {
      rpc,
      request: call.request,
      version: version === undefined ? undefined : String(version),
      user: Array.isArray(cn) ? cn[0] : cn,
      at: Date.now(),
    };
    const calls = (this.calls[rpc] ??= { count: 0, recent: [] });
    calls.count++;
    calls.last = rec;
    calls.recent.push(rec);
    if (calls.recent.length > RECENT_CALLS) calls.recent.shift();

    const f = this.faults.failNextCalls.find(
      (x) => (x.rpc === rpc || x.rpc === '*') && x.times > 0 && (!x.when || x.when(call.request)),
    );
    if (f) {
      f.times--;
      if (f.times <= 0) this.faults.failNextCalls.splice(this.faults.failNextCalls.indexOf(f), 1);
      return status(f.code, f.details ?? `injected failure of ${rpc}`);
    }
    if (this.faults.unimplementedExport && (rpc === 'GetEventExportChunks' || rpc === 'ExportUnstructuredEvents')) {
      return status(grpc.status.UNIMPLEMENTED, `unknown method ${rpc} for service ${AUDIT_SERVICE}`);
    }
    return undefined;
  }

  async listen(port: number): Promise<void> {
    const server = new grpc.Server();
    for (const s of this.services) server.addService(s.definition, s.implementation);
    const creds = grpc.ServerCredentials.createSsl(
      Buffer.from(this.tls.ca),
      [{ private_key: Buffer.from(this.tls.key), cert_chain: Buffer.from(this.tls.cert) }],
      true,
    );
    const target = hostPort(this.host, port);
    // the previous listener may take a moment to release the port after a restart
    for (let attempt = 0; ; attempt++) {
      try {
        this.port = await new Promise<number>((resolve, reject) =>
          server.bindAsync(target, creds, (err, p) => (err ? reject(err) : resolve(p))),
        );
        break;
      } catch (err) {
        if (attempt >= 50 || port === 0) throw err;
        await sleep(20);
      }
    }
    this.server = server;
  }

  async restart(opts: { downMs?: number } = {}): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
    if (opts.downMs) await sleep(opts.downMs);
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  private addChunk(id: string, ref: ChunkRef): void {
    this.chunksById.set(id, ref);
    const ids = this.chunkIds.get(ref.date) ?? [];
    ids.push(id);
    this.chunkIds.set(ref.date, ids);
  }

  private getChunks(call: WritableCall): void {
    const failure = this.beginCall('GetEventExportChunks', call);
    if (failure) return void call.emit('error', failure);
    const ids = this.chunkIds.get(utcDate(tsMs(call.request.date))) ?? [];
    void this.pump(call, 'GetEventExportChunks', ids.map(encodeChunk));
  }

  private exportEvents(call: WritableCall): void {
    const failure = this.beginCall('ExportUnstructuredEvents', call);
    if (failure) return void call.emit('error', failure);
    const { chunk, cursor } = call.request as { chunk: string; cursor: string };
    const date = utcDate(tsMs(call.request.date));
    const ref = this.chunksById.get(chunk);
    if (!ref || ref.date !== date)
      return void call.emit(
        'error',
        status(grpc.status.NOT_FOUND, `export chunk "${chunk}" not found for date ${date}`),
      );
    let from = 0;
    if (cursor !== '') {
      const m = /^([0-9a-f]{8})\.(\d+)$/.exec(cursor);
      from = m && m[1] === ref.tag ? Number(m[2]) : -1;
      if (!(from >= 0 && from <= ref.length)) {
        return void call.emit(
          'error',
          status(grpc.status.INVALID_ARGUMENT, `malformed export cursor for chunk "${chunk}"`),
        );
      }
    }
    void this.pump(
      call,
      'ExportUnstructuredEvents',
      (function* () {
        for (let i = from; i < ref.length; i++) yield encodeExportEvent(ref.eventAt(i), `${ref.tag}.${i + 1}`);
      })(),
    );
  }

  private search(call: grpc.ServerUnaryCall<any, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    const failure = this.beginCall('GetUnstructuredEvents', call);
    if (failure) return cb(failure);
    const r = call.request as {
      start_date: unknown;
      end_date: unknown;
      event_types: string[];
      limit: number;
      start_key: string;
      order: unknown;
    };
    if (r.limit > MAX_LIMIT) return cb(status(grpc.status.INVALID_ARGUMENT, `limit ${r.limit} exceeds ${MAX_LIMIT}`));
    const after = r.start_key ? decodeSearchKey(r.start_key) : undefined;
    if (r.start_key && !after) return cb(status(grpc.status.INVALID_ARGUMENT, 'malformed start_key'));
    try {
      const whole = this.faults.searchWholeSeconds === true;
      const page = searchPage(
        this.sources,
        {
          fromMs: whole ? floorSecond(tsMs(r.start_date)) : tsMs(r.start_date),
          toMs: whole ? floorSecond(tsMs(r.end_date)) + 999 : tsMs(r.end_date),
          types: r.event_types,
          limit: r.limit > 0 ? r.limit : DEFAULT_LIMIT,
          ascending: r.order === 1 || r.order === 'ORDER_ASCENDING',
          after,
          maxBytes: MAX_PAGE_BYTES,
        },
        encodeEvent,
      );
      cb(null, encodeEventsPage(page.items, page.last ? encodeSearchKey(page.last) : ''));
    } catch (err) {
      cb(status(grpc.status.INTERNAL, `search failed: ${(err as Error).message}`));
    }
  }

  private streamSession(call: WritableCall): void {
    const failure = this.beginCall('StreamUnstructuredSessionEvents', call);
    if (failure) return void call.emit('error', failure);
    const { session_id: sid, start_index: startIndex } = call.request as { session_id: string; start_index: number };
    const notFound = () => call.emit('error', status(grpc.status.NOT_FOUND, `session recording ${sid} not found`));
    const pending = this.faults.notFoundSessions.get(sid);
    if (pending !== undefined && pending > 0) {
      if (pending - 1 <= 0) this.faults.notFoundSessions.delete(sid);
      else this.faults.notFoundSessions.set(sid, pending - 1);
      return void notFound();
    }
    const run = this.recordings.get(sid) ?? this.dataset.recording(sid);
    if (!run) return void notFound();
    // first event with ei >= start_index (a recording is ordered by ei)
    let lo = 0;
    let hi = run.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (run.eventAt(mid).index >= startIndex) hi = mid;
      else lo = mid + 1;
    }
    void this.pump(
      call,
      'StreamUnstructuredSessionEvents',
      (function* () {
        for (let i = lo; i < run.length; i++) yield encodeEvent(run.eventAt(i));
      })(),
    );
  }

  /** writes messages one by one, waiting for 'drain' when the client is slow; applies stream faults */
  private async pump(call: WritableCall, rpc: AuditRpc, messages: Iterable<Buffer>): Promise<void> {
    let sent = 0;
    const open = this.streams[rpc];
    open.open++;
    open.peak = Math.max(open.peak, open.open);
    try {
      for (const msg of messages) {
        if (call.cancelled) return;
        if (this.breakStream(rpc, sent)) return void call.emit('error', wentAway());
        if (this.stallStream(rpc, sent)) return void (await cancelled(call));
        if (this.faults.slowStreamMs > 0) {
          await sleep(this.faults.slowStreamMs);
          if (call.cancelled) return;
        }
        sent++;
        if (!call.write(msg)) await drained(call);
      }
      if (call.cancelled) return;
      if (this.breakStream(rpc, sent)) return void call.emit('error', wentAway());
      call.end();
    } catch (err) {
      if (!call.cancelled) call.emit('error', status(grpc.status.INTERNAL, `${rpc} failed: ${(err as Error).message}`));
    } finally {
      open.open--;
    }
  }

  private stallStream(rpc: AuditRpc, sent: number): boolean {
    return this.streamFault('stallAfter', rpc, sent);
  }

  private breakStream(rpc: AuditRpc, sent: number): boolean {
    return this.streamFault('unavailableAfter', rpc, sent);
  }

  /** whether a stream fault applies to this stream now; counts it down and clears it when used up */
  private streamFault(which: 'stallAfter' | 'unavailableAfter', rpc: AuditRpc, sent: number): boolean {
    const f = this.faults[which];
    if (!f || f.times <= 0 || sent < f.messages || (f.rpcs && !f.rpcs.includes(rpc))) return false;
    f.times--;
    if (f.times <= 0) this.faults[which] = undefined;
    return true;
  }
}

/** resolves when a stream can take more, or will never need to (cancelled, closed) */
function drained(call: WritableCall): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
    call.on('close', done);
  });
}

const wentAway = (): grpc.ServiceError =>
  status(grpc.status.UNAVAILABLE, 'injected fault: the auth service went away mid-stream');

function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

/** epoch ms of a decoded google.protobuf.Timestamp; an absent one is the epoch, as Go's AsTime() of nil */
function tsMs(ts: unknown): number {
  if (!ts || typeof ts !== 'object') return 0;
  const { seconds, nanos } = ts as { seconds?: string | number; nanos?: number };
  return Number(seconds ?? 0) * 1000 + Math.floor((nanos ?? 0) / 1e6);
}

function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** 8 hex chars naming a chunk inside its cursors */
function cursorTag(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0)
    .toString(16)
    .padStart(8, '0');
}

export async function startFakeTeleport(options: FakeTeleportOptions = {}): Promise<FakeTeleport> {
  const clusterName = options.clusterName ?? options.dataset?.clusterName ?? 'tele.example.com';
  const dataset = options.dataset ?? defaultDataset(clusterName);
  const fake = new Fake(
    dataset,
    options.tls ?? createFakeTeleportTls(clusterName),
    options.host ?? '127.0.0.1',
    clusterName,
  );
  for (const s of options.services ?? []) fake.addService(s.definition, s.implementation);
  await fake.listen(options.port ?? 0);
  return fake;
}

export {
  defaultDataset,
  generatedDataset,
  datasetFromEvents,
  loadFixtureDataset,
  sampleEvents,
} from './teleport-dataset.js';
export type {
  FakeDataset,
  FakeEvent,
  EventRun,
  DatasetChunk,
  GeneratedDatasetOptions,
  ListDatasetOptions,
  SampleEventsOptions,
} from './teleport-dataset.js';
