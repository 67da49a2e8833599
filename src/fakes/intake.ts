// a local stand-in for the datadog logs intake, for tests, the benchmark and the demo. a real http(s) server that
// keeps the intake's rules (limits.ts): DD-API-KEY checked (403), gzip/deflate decoded (400 when broken), a json
// array or object, more than 1000 entries or 5,000,000 uncompressed bytes refused with 413, 202 `{}` on success.
// faults are queued and used in order: an error status, a slow answer, a connection reset; the whole server can go
// down and come back; poison strings make a request 400 with a body naming them, like datadog's error bodies.
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { INTAKE_PATH, MAX_ENTRIES_PER_REQUEST, MAX_PAYLOAD_BYTES, VALIDATE_PATH } from '../sinks/datadog/limits.js';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/** bytes read off the wire for one request before answering 413 without looking further (32 MiB) */
const MAX_WIRE_BYTES = 32 * 1024 * 1024;
/** request records kept in `history` (oldest dropped first) */
const MAX_HISTORY = 10_000;

export type IntakeFault =
  /** answer this status (with these headers and body) instead of processing the request */
  | { status: number; times?: number; headers?: Record<string, string>; body?: string }
  /** wait before processing; a request whose client gave up meanwhile is not accepted */
  | { delayMs: number; times?: number }
  /** destroy the connection as soon as the request arrives */
  | { reset: true; times?: number };

export interface FakeIntakeOptions {
  /** default 0 (any free port) */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** accepted api keys; default: any non-empty key */
  apiKeys?: string[];
  /** serve https with this certificate */
  tls?: { cert: string; key: string };
  /** keep every accepted log in `logs` (default true); false keeps only `logCount` and `ids` (bounded memory) */
  keepLogs?: boolean;
  /** with keepLogs false, the top-level field whose values are collected in `ids` (default `id`) */
  idField?: string;
  /** any log whose json contains one of these strings makes its request 400 */
  poison?: string[];
  /** called with the logs of each accepted request, in arrival order */
  onLogs?: (logs: Array<Record<string, unknown>>) => void;
}

export interface IntakeRequestRecord {
  /** epoch ms when the answer was decided */
  at: number;
  method: string;
  path: string;
  status: number | 'reset' | 'abandoned';
  /** entries in the body, when it could be decoded */
  entries: number | null;
  contentEncoding: string | null;
  /** body bytes as received */
  wireBytes: number;
  /** body bytes after decoding, when it could be decoded */
  bodyBytes: number | null;
  ddtags: string | null;
}

export interface FakeIntake {
  /** base url, e.g. http://127.0.0.1:41234 (pass as the sink's url) */
  readonly url: string;
  readonly port: number;
  /** accepted logs in arrival order (empty with keepLogs false) */
  readonly logs: Array<Record<string, unknown>>;
  /** the accepted requests' bodies as text once decoded, in arrival order (empty with keepLogs false): what the
   * parsed logs cannot show, such as a number's digits */
  readonly bodies: string[];
  /** accepted logs, counted */
  readonly logCount: number;
  /** with keepLogs false: values of the idField of accepted logs */
  readonly ids: Set<string>;
  /** requests to the logs path */
  readonly requests: number;
  /** requests answered 202 */
  readonly accepted: number;
  /** requests answered otherwise (error status, reset, abandoned) */
  readonly rejected: number;
  /** the most entries seen in one request, accepted or not */
  readonly maxEntriesSeen: number;
  /** one record per request to the logs path, oldest first (bounded) */
  readonly history: IntakeRequestRecord[];
  /** replace the accepted keys (revoke/restore); null accepts any non-empty key */
  setApiKeys(keys: string[] | null): void;
  inject(fault: IntakeFault): void;
  /** faults still queued (each counted as many times as left) */
  pendingFaults(): number;
  /** drop every queued fault */
  clearFaults(): void;
  addPoison(text: string): void;
  clearPoison(): void;
  /**
   * down (true): drop open connections and reset every new one at once, like a crashed service behind a load
   * balancer; up (false): serve again. the port stays ours meanwhile: a listener closed and reopened could find
   * its port taken by another test's server in the meantime. `refuse` closes the listener instead (ECONNREFUSED,
   * a service that is not running), at that risk: for short outages only
   */
  setDown(down: boolean, how?: 'reset' | 'refuse'): Promise<void>;
  close(): Promise<void>;
}

interface QueuedFault {
  fault: IntakeFault;
  left: number;
}

export async function startFakeIntake(options: FakeIntakeOptions = {}): Promise<FakeIntake> {
  const host = options.host ?? '127.0.0.1';
  const keepLogs = options.keepLogs ?? true;
  const idField = options.idField ?? 'id';
  let apiKeys: Set<string> | null = options.apiKeys === undefined ? null : new Set(options.apiKeys);
  const poison = new Set(options.poison ?? []);
  const faults: QueuedFault[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const bodies: string[] = [];
  const ids = new Set<string>();
  const history: IntakeRequestRecord[] = [];
  const stats = { logCount: 0, requests: 0, accepted: 0, rejected: 0, maxEntriesSeen: 0 };
  let down = false;

  const keyOk = (req: http.IncomingMessage): boolean => {
    const key = req.headers['dd-api-key'];
    if (typeof key !== 'string' || key === '') return false;
    return apiKeys === null || apiKeys.has(key);
  };

  const nextFault = (): IntakeFault | null => {
    const head = faults[0];
    if (head === undefined) return null;
    head.left -= 1;
    if (head.left <= 0) faults.shift();
    return head.fault;
  };

  const record = (entry: Omit<IntakeRequestRecord, 'at'>): void => {
    history.push({ at: Date.now(), ...entry });
    if (history.length > MAX_HISTORY) history.shift();
    if (entry.status === 202) stats.accepted += 1;
    else stats.rejected += 1;
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://intake');
    if (url.pathname === VALIDATE_PATH && req.method === 'GET') {
      req.resume();
      if (keyOk(req)) send(res, 200, { valid: true });
      else send(res, 403, { errors: ['Forbidden'] });
      return;
    }
    if (url.pathname !== INTAKE_PATH) {
      req.resume();
      send(res, 404, errorBody(404, `no route for ${url.pathname}`));
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      send(res, 405, errorBody(405, 'use POST'));
      return;
    }
    stats.requests += 1;
    const base = {
      method: req.method,
      path: url.pathname,
      contentEncoding: headerOf(req, 'content-encoding'),
      ddtags: url.searchParams.get('ddtags'),
    };
    const fault = nextFault();
    if (fault !== null && 'reset' in fault) {
      record({ ...base, status: 'reset', entries: null, wireBytes: 0, bodyBytes: null });
      req.socket.destroy();
      return;
    }
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    readBody(req).then(
      async (wire) => {
        if (fault !== null && 'delayMs' in fault) {
          await new Promise((r) => setTimeout(r, fault.delayMs));
          if (clientGone || res.destroyed) {
            record({ ...base, status: 'abandoned', entries: null, wireBytes: wire.length, bodyBytes: null });
            return;
          }
        }
        const seen = await inspect(wire, base.contentEncoding);
        const entries = seen.entries?.length ?? null;
        if (entries !== null) stats.maxEntriesSeen = Math.max(stats.maxEntriesSeen, entries);
        const finish = (status: number, body: string, headers: Record<string, string> = {}): void => {
          record({ ...base, status, entries, wireBytes: wire.length, bodyBytes: seen.bodyBytes });
          if (res.destroyed) return;
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(body);
        };
        const fail = (status: number, detail: string): void =>
          finish(status, JSON.stringify(errorBody(status, detail)));
        if (fault !== null && 'status' in fault) {
          return finish(
            fault.status,
            fault.body ?? JSON.stringify(errorBody(fault.status, 'injected fault')),
            fault.headers,
          );
        }
        if (!keyOk(req)) return fail(403, 'Forbidden');
        if (seen.error !== null) return fail(seen.error.status, seen.error.detail);
        const logsIn = seen.entries!;
        if (poison.size > 0) {
          for (let i = 0; i < logsIn.length; i += 1) {
            const json = JSON.stringify(logsIn[i]);
            for (const p of poison)
              if (json.includes(p)) return fail(400, `entry ${i} contains the rejected value "${p}"`);
          }
        }
        stats.logCount += logsIn.length;
        if (keepLogs) {
          logs.push(...logsIn);
          bodies.push(seen.text!);
        } else for (const log of logsIn) if (log[idField] !== undefined) ids.add(String(log[idField]));
        finish(202, '{}');
        options.onLogs?.(logsIn);
      },
      () => {
        // the client went away while sending
        record({ ...base, status: 'abandoned', entries: null, wireBytes: 0, bodyBytes: null });
      },
    );
  };

  const server =
    options.tls === undefined
      ? http.createServer(handler)
      : https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  // while down, a connection is reset as soon as it is accepted
  server.on('connection', (socket: import('node:net').Socket) => {
    if (down) socket.destroy();
  });
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    logs,
    bodies,
    ids,
    history,
    get logCount() {
      return stats.logCount;
    },
    get requests() {
      return stats.requests;
    },
    get accepted() {
      return stats.accepted;
    },
    get rejected() {
      return stats.rejected;
    },
    get maxEntriesSeen() {
      return stats.maxEntriesSeen;
    },
    setApiKeys(keys) {
      apiKeys = keys === null ? null : new Set(keys);
    },
    inject(fault) {
      faults.push({ fault, left: fault.times ?? 1 });
    },
    pendingFaults() {
      return faults.reduce((n, f) => n + f.left, 0);
    },
    clearFaults() {
      faults.length = 0;
    },
    addPoison(text) {
      poison.add(text);
    },
    clearPoison() {
      poison.clear();
    },
    async setDown(value, how = 'reset') {
      if (value === down) return;
      down = value;
      if (!value) {
        if (!server.listening) await listen(server, port, host);
      } else if (how === 'refuse') await shutdown(server);
      else server.closeAllConnections();
    },
    async close() {
      down = true;
      if (server.listening) await shutdown(server);
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function shutdown(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** stands for a body over MAX_WIRE_BYTES, which is not kept */
const TOO_BIG = Buffer.alloc(0);

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // past the bound, keep draining but stop keeping; the caller answers 413 from the length
      if (size <= MAX_WIRE_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_WIRE_BYTES ? TOO_BIG : Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('aborted')));
  });
}

interface Inspected {
  /** the logs, when the body decoded to a json array or object (even one that breaks a limit) */
  entries: Array<Record<string, unknown>> | null;
  /** the decoded body, when it parsed */
  text?: string;
  bodyBytes: number | null;
  /** the intake's refusal, if any (400 bad encoding or json, 413 over a limit) */
  error: { status: number; detail: string } | null;
}

/** decode and check a logs body against the intake's limits (everything but the api key and poison) */
async function inspect(wire: Buffer, encoding: string | null): Promise<Inspected> {
  if (wire === TOO_BIG)
    return { entries: null, bodyBytes: null, error: { status: 413, detail: 'request body is too large' } };
  let text: Buffer;
  try {
    text = await decode(wire, encoding);
  } catch (error) {
    if (error instanceof RangeError) {
      return {
        entries: null,
        bodyBytes: null,
        error: { status: 413, detail: `payload is over ${MAX_PAYLOAD_BYTES} bytes uncompressed` },
      };
    }
    return {
      entries: null,
      bodyBytes: null,
      error: { status: 400, detail: `could not decode ${encoding ?? 'identity'} body: ${(error as Error).message}` },
    };
  }
  const bodyBytes = text.length;
  if (bodyBytes > MAX_PAYLOAD_BYTES) {
    return {
      entries: null,
      bodyBytes,
      error: { status: 413, detail: `payload is ${bodyBytes} bytes, over ${MAX_PAYLOAD_BYTES} uncompressed` },
    };
  }
  let parsed: unknown;
  const decoded = text.toString('utf8');
  try {
    parsed = JSON.parse(decoded);
  } catch (error) {
    return { entries: null, bodyBytes, error: { status: 400, detail: `invalid JSON: ${(error as Error).message}` } };
  }
  const list: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  const bad = list.findIndex((e) => e === null || typeof e !== 'object' || Array.isArray(e));
  const entries = list as Array<Record<string, unknown>>;
  if (list.length > MAX_ENTRIES_PER_REQUEST) {
    return {
      entries,
      bodyBytes,
      error: { status: 413, detail: `${list.length} entries, over ${MAX_ENTRIES_PER_REQUEST} per request` },
    };
  }
  if (bad >= 0) return { entries, bodyBytes, error: { status: 400, detail: `entry ${bad} is not a JSON object` } };
  return { entries, text: decoded, bodyBytes, error: null };
}

/** gzip/deflate/identity; a RangeError means the decoded body would be over the payload limit */
async function decode(wire: Buffer, encoding: string | null): Promise<Buffer> {
  const limit = { maxOutputLength: MAX_PAYLOAD_BYTES + 1 };
  switch (encoding?.toLowerCase() ?? 'identity') {
    case 'identity':
      return wire;
    case 'gzip':
      return gunzip(wire, limit);
    case 'deflate':
      return inflate(wire, limit);
    default:
      throw new Error(`unsupported Content-Encoding "${encoding}"`);
  }
}

function headerOf(req: http.IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}

/** datadog's error body shape (HTTPLogErrors) */
function errorBody(
  status: number,
  detail: string,
): { errors: Array<{ status: string; title: string; detail: string }> } {
  return { errors: [{ status: String(status), title: http.STATUS_CODES[status] ?? 'Error', detail }] };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
