// grpc-js client of teleport's AuditLogService (and AuthService.UpsertLock). every call carries the `version`
// metadata teleport expects; unary calls get a deadline; server streams are cancelled through an AbortSignal.
// the identity can be swapped at run time (refresh): new calls go over a new channel with the new certificate,
// calls in flight finish on the old one.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { TlsIdentity } from './identity.js';
import { protoDir } from '../../paths.js';
import { TeleportChannelCredentials, TELEPORT_API_DOMAIN, authAlpnProtocol } from './credentials.js';
import {
  decodeEventMessage,
  decodeEventsPage,
  decodeExportEvent,
  type WireEvent,
  type WireExportEvent,
} from './decoder.js';

/** directory holding our .proto files: <root>/proto from src/ (tsx) and from dist/src/ (built) */
export const PROTO_DIR = protoDir;

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true };

export interface RawTimestamp {
  seconds: string;
  nanos: number;
}

/** google.protobuf.Struct as proto-loader decodes it */
export interface RawStruct {
  fields?: Record<string, RawValue>;
}
export interface RawValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: RawStruct | null;
  listValue?: { values?: RawValue[] } | null;
}

export interface RawEvent {
  type: string;
  id: string;
  time: RawTimestamp | null;
  index: string;
  unstructured: RawStruct | null;
}

export interface RawExportEvent {
  event: RawEvent | null;
  cursor: string;
}

export interface SearchRequest {
  startDate: Date;
  /** exclusive: sent as one nanosecond before, since teleport's search includes both ends of the window */
  endDate: Date;
  eventTypes: string[];
  limit: number;
  startKey: string;
}

export interface LockSpec {
  name: string;
  user: string;
  message: string;
  expires?: Date;
}

export interface AuditLogClient {
  /** lists the chunks of a UTC date */
  getEventExportChunks(date: Date, signal?: AbortSignal): Promise<string[]>;
  /** streams one chunk's events after a cursor */
  exportEvents(
    date: Date,
    chunk: string,
    cursor: string,
    signal?: AbortSignal,
  ): grpc.ClientReadableStream<WireExportEvent>;
  /** legacy paged search */
  searchEvents(req: SearchRequest, signal?: AbortSignal): Promise<{ items: WireEvent[]; lastKey: string }>;
  /** streams a session recording from an index */
  streamSessionEvents(
    sessionId: string,
    startIndex: number,
    signal?: AbortSignal,
  ): grpc.ClientReadableStream<WireEvent>;
  upsertLock(lock: LockSpec, signal?: AbortSignal): Promise<void>;
  /** use a new identity for calls made from now on */
  setIdentity(identity: TlsIdentity): void;
  close(): void;
}

export interface ClientOptions {
  /** host:port of the auth service (direct) or proxy (tls routing) */
  addr: string;
  identity: TlsIdentity;
  mode: 'direct' | 'proxy';
  /** name verified on the server certificate; default teleport.cluster.local */
  serverName?: string;
  /** cluster name for the proxy ALPN route; default the identity's */
  clusterName?: string;
  /** sent as gRPC metadata `version` */
  apiVersion: string;
  /** deadline of unary calls, ms */
  timeoutMs: number;
}

const KEEPALIVE_MS = 5 * 60_000; // like teleport's own client: ping an idle connection every 5 min
const LIST_DEADLINE_MIN_MS = 60_000; // listing a day's chunks may take longer than a unary call

let cachedAudit: grpc.ServiceClientConstructor | undefined;
let cachedAuth: grpc.ServiceClientConstructor | undefined;

function loadServices(): { audit: grpc.ServiceClientConstructor; auth: grpc.ServiceClientConstructor } {
  if (!cachedAudit || !cachedAuth) {
    const def = protoLoader.loadSync(
      ['teleport/auditlog/v1/auditlog.proto', 'teleport/legacy/client/proto/authservice.proto'],
      { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] },
    );
    const pkg = grpc.loadPackageDefinition(def) as any;
    const audit = pkg.teleport.auditlog.v1.AuditLogService as grpc.ServiceClientConstructor;
    // the event responses are decoded from the wire into plain objects (decoder.ts), not into Struct wrappers
    const service: grpc.ServiceDefinition = {
      ...audit.service,
      ExportUnstructuredEvents: { ...audit.service.ExportUnstructuredEvents!, responseDeserialize: decodeExportEvent },
      GetUnstructuredEvents: { ...audit.service.GetUnstructuredEvents!, responseDeserialize: decodeEventsPage },
      StreamUnstructuredSessionEvents: {
        ...audit.service.StreamUnstructuredSessionEvents!,
        responseDeserialize: decodeEventMessage,
      },
    };
    cachedAudit = grpc.makeGenericClientConstructor(service, 'AuditLogService');
    cachedAuth = pkg.proto.AuthService as grpc.ServiceClientConstructor;
  }
  return { audit: cachedAudit, auth: cachedAuth };
}

export function toTimestamp(d: Date): RawTimestamp {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

/** one nanosecond before d */
export function justBefore(d: Date): RawTimestamp {
  const t = toTimestamp(d);
  return t.nanos > 0
    ? { seconds: t.seconds, nanos: t.nanos - 1 }
    : { seconds: String(Number(t.seconds) - 1), nanos: 999_999_999 };
}

/** the port of host:port, or undefined */
function portOf(addr: string): number | undefined {
  const m = /:(\d+)$/.exec(addr);
  return m ? Number(m[1]) : undefined;
}

/** auto mode: teleport proxies listen on 443 (or 3080); the auth service on 3025 */
export function resolveMode(mode: 'auto' | 'direct' | 'proxy', addr: string): 'direct' | 'proxy' {
  if (mode !== 'auto') return mode;
  const port = portOf(addr);
  return port === 443 || port === 3080 ? 'proxy' : 'direct';
}

/**
 * cancels the call when the signal aborts; returns the cleanup that removes the abort listener. unary calls
 * never emit 'close', so they must call it from their callback; streams clean up on 'status' or 'close'.
 * without it every call leaves a listener (and its call) on the long-lived signal.
 */
function linkSignal(call: { cancel(): void }, signal?: AbortSignal): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** linkSignal for server streams: the listener goes when the call ends, however it ends */
function linkStream(call: grpc.ClientReadableStream<unknown>, signal?: AbortSignal): void {
  const unlink = linkSignal(call, signal);
  call.once('status', unlink);
  call.once('close', unlink);
}

export function createAuditLogClient(o: ClientOptions): AuditLogClient {
  const { audit, auth } = loadServices();
  const serverName = o.serverName ?? TELEPORT_API_DOMAIN;
  const metadata = () => {
    const md = new grpc.Metadata();
    md.set('version', o.apiVersion);
    return md;
  };
  const deadline = (ms = o.timeoutMs) => new Date(Date.now() + ms);

  let clients!: { audit: grpc.Client & Record<string, any>; auth: grpc.Client & Record<string, any> };
  const build = (identity: TlsIdentity) => {
    const alpn = ['h2'];
    if (o.mode === 'proxy') {
      const cluster = o.clusterName ?? identity.clusterName;
      if (!cluster) throw new Error('proxy mode needs the cluster name and the identity does not tell it');
      alpn.unshift(authAlpnProtocol(cluster));
    }
    const creds = new TeleportChannelCredentials({ identity, serverName, alpnProtocols: alpn });
    const channelOptions: grpc.ChannelOptions = {
      'grpc.ssl_target_name_override': serverName,
      'grpc.default_authority': serverName,
      'grpc.keepalive_time_ms': KEEPALIVE_MS,
      'grpc.keepalive_timeout_ms': 30_000,
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024, // 64 MiB: teleport pages can be large
    };
    const a = new audit(o.addr, creds, channelOptions) as grpc.Client & Record<string, any>;
    // the lock client shares the audit client's channel
    const b = new auth(o.addr, creds, { ...channelOptions, channelOverride: a.getChannel() }) as grpc.Client &
      Record<string, any>;
    return { audit: a, auth: b };
  };
  clients = build(o.identity);

  function unary<T>(
    client: Record<string, any>,
    method: string,
    req: unknown,
    ms: number,
    signal?: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let unlink: (() => void) | undefined;
      let settled = false;
      const call = client[method](
        req,
        metadata(),
        { deadline: deadline(ms) },
        (err: grpc.ServiceError | null, res: T) => {
          settled = true;
          unlink?.();
          if (err) reject(err);
          else resolve(res);
        },
      );
      unlink = linkSignal(call, signal);
      if (settled) unlink();
    });
  }

  return {
    async getEventExportChunks(date, signal) {
      const call: grpc.ClientReadableStream<{ chunk: string }> = clients.audit.GetEventExportChunks(
        { date: toTimestamp(date) },
        metadata(),
        { deadline: deadline(Math.max(o.timeoutMs, LIST_DEADLINE_MIN_MS)) },
      );
      linkStream(call, signal);
      const out: string[] = [];
      for await (const c of call) out.push((c as { chunk: string }).chunk);
      return out;
    },
    exportEvents(date, chunk, cursor, signal) {
      const call = clients.audit.ExportUnstructuredEvents({ date: toTimestamp(date), chunk, cursor }, metadata());
      linkStream(call, signal);
      return call;
    },
    async searchEvents(req, signal) {
      const res = await unary<{ items: WireEvent[]; lastKey: string }>(
        clients.audit,
        'GetUnstructuredEvents',
        {
          namespace: 'default',
          start_date: toTimestamp(req.startDate),
          end_date: justBefore(req.endDate),
          event_types: req.eventTypes,
          limit: req.limit,
          start_key: req.startKey,
          order: 'ORDER_ASCENDING',
        },
        o.timeoutMs,
        signal,
      );
      return res;
    },
    streamSessionEvents(sessionId, startIndex, signal) {
      const call = clients.audit.StreamUnstructuredSessionEvents(
        { session_id: sessionId, start_index: startIndex, format: '' },
        metadata(),
      );
      linkStream(call, signal);
      return call;
    },
    async upsertLock(lock, signal) {
      await unary(
        clients.auth,
        'UpsertLock',
        {
          Kind: 'lock',
          Version: 'v2',
          Metadata: { Name: lock.name },
          Spec: {
            Target: { User: lock.user },
            Message: lock.message,
            Expires: lock.expires ? toTimestamp(lock.expires) : null,
          },
        },
        o.timeoutMs,
        signal,
      );
    },
    setIdentity(identity) {
      const old = clients;
      clients = build(identity);
      // calls in flight keep their connection; the old channel goes once they end
      old.auth.close();
      old.audit.close();
    },
    close() {
      clients.auth.close();
      clients.audit.close();
    },
  };
}
