// the admin http server (plain node:http, no authentication: it listens on loopback by default).
//   GET /metrics   prometheus text exposition
//   GET /healthz   200 "ok" while the process runs (liveness)
//   GET /readyz    200 when every readiness check passes, else 503; a json body lists the checks either way. a
//                  degraded part (a poller that cannot reach teleport) keeps readiness: the ingest still takes events
//   GET /status    json summary (see status.ts); never holds a secret
// with deps.spool, the dead-letter store can be worked on while the forwarder runs (the spool cli uses this,
// since LevelDB admits one process at a time):
//   GET  /spool/dead?limit=N&after=KEY    dead letters, oldest first
//   POST /spool/dead/replay  {"ids": [..]} (omit ids for all)  -> {"replayed": n}
//   POST /spool/dead/purge   {"before": epoch ms}             -> {"purged": n}
// with deps.backfill, backfill jobs and the live poller's cursor are worked on the same way (the backfill and
// cursor commands use these while the forwarder runs):
//   GET  /backfill                   {"jobs": [..]}
//   POST /backfill  {"from", "to", "types", "skipEventTypes", "sessions", "allowDuplicates", "plan"}
//                                    -> {"plan", "job"} (with "plan": true, only what it would do)
//   POST /backfill/cancel {"id"}     -> {"job"}
//   GET  /cursor                     {"cursor"}
//   POST /cursor {"startTime": epoch ms, "apply": bool} -> {"move", "applied"}: the poller restarts from it
// these answer only loopback clients whose Host header names a loopback address (so neither the network nor a
// dns-rebinding web page reach them, even with admin.host = 0.0.0.0 for scraping), and the POSTs need a json
// content-type (a cross-site form cannot send one without a preflight we never answer).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, ForwarderError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DeadLetter } from '../spool/types.js';
import type { HealthReport, StatusDoc } from './status.js';

export interface AdminOptions {
  host: string;
  port: number;
}

export interface DeadLetterStore {
  listDead(options?: { limit?: number; after?: string }): Promise<DeadLetter[]>;
  replayDead(keys?: string[]): Promise<number>;
  purgeDead(before: number): Promise<number>;
}

/** backfill jobs and the live cursor (src/backfill), as the admin api serves them */
export interface BackfillApi {
  list(): Promise<unknown[]>;
  submit(req: Record<string, unknown>, planOnly: boolean): Promise<Record<string, unknown>>;
  cancel(id: string): Promise<unknown>;
  cursor(): Promise<unknown>;
  moveCursor(to: number, apply: boolean): Promise<Record<string, unknown>>;
}

export interface AdminDeps {
  metrics?: { readonly contentType: string; render(): Promise<string> };
  health: () => HealthReport | Promise<HealthReport>;
  status: () => StatusDoc | Promise<StatusDoc>;
  /** enables the /spool/dead endpoints */
  spool?: DeadLetterStore;
  /** enables the /backfill and /cursor endpoints */
  backfill?: BackfillApi;
  logger: Logger;
}

export interface AdminServer {
  /** listens; rejects with ConfigError when the address is taken or cannot be used */
  start(): Promise<{ host: string; port: number }>;
  /** stops listening and closes open connections; idempotent */
  close(): Promise<void>;
}

export const ADMIN_DEFAULTS = Object.freeze({
  bodyLimit: 1024 * 1024, // 1 MiB: a list of dead-letter keys
  listLimit: 100,
  listMaxLimit: 1000,
  requestTimeoutMs: 30_000,
});

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createAdminServer(options: AdminOptions, deps: AdminDeps): AdminServer {
  const { logger } = deps;
  let server: http.Server | null = null;
  let closing: Promise<void> | null = null;

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';

    if (path === '/healthz') {
      if (!read) throw new HttpError(405, 'use GET');
      return send(res, 200, TEXT_TYPE, 'ok\n');
    }
    if (path === '/readyz') {
      if (!read) throw new HttpError(405, 'use GET');
      const report = await deps.health();
      return send(res, report.ready ? 200 : 503, JSON_TYPE, JSON.stringify(report) + '\n');
    }
    if (path === '/status') {
      if (!read) throw new HttpError(405, 'use GET');
      return send(res, 200, JSON_TYPE, JSON.stringify(await deps.status(), null, 2) + '\n');
    }
    if (path === '/metrics' && deps.metrics) {
      if (!read) throw new HttpError(405, 'use GET');
      return send(res, 200, deps.metrics.contentType, await deps.metrics.render());
    }
    if (deps.spool && (path === '/spool/dead' || path === '/spool/dead/replay' || path === '/spool/dead/purge')) {
      checkLocal(req);
      return spoolRoute(deps.spool, req, res, path, url);
    }
    if (deps.backfill && (path === '/backfill' || path === '/backfill/cancel' || path === '/cursor')) {
      checkLocal(req);
      try {
        return await backfillRoute(deps.backfill, req, res, path);
      } catch (err) {
        // a refused request (a range shipped already, an unknown job) is the caller's to fix
        if (err instanceof ForwarderError) throw new HttpError(409, err.message);
        throw err;
      }
    }
    throw new HttpError(
      404,
      `no such endpoint ${JSON.stringify(path.slice(0, 100))}: try /metrics, /healthz, /readyz or /status`,
    );
  }

  async function spoolRoute(
    store: DeadLetterStore,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    url: URL,
  ): Promise<void> {
    if (path === '/spool/dead') {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      const limit = intParam(
        url.searchParams.get('limit'),
        ADMIN_DEFAULTS.listLimit,
        1,
        ADMIN_DEFAULTS.listMaxLimit,
        'limit',
      );
      const after = url.searchParams.get('after') ?? undefined;
      const deadLetters = await store.listDead({ limit, ...(after ? { after } : {}) });
      return send(res, 200, JSON_TYPE, JSON.stringify({ deadLetters }) + '\n');
    }
    if (req.method !== 'POST') throw new HttpError(405, 'use POST');
    const body = await readJson(req);
    if (path === '/spool/dead/replay') {
      const ids = body.ids;
      if (ids !== undefined && !(Array.isArray(ids) && ids.every((k) => typeof k === 'string'))) {
        throw new HttpError(400, '"ids" must be an array of dead-letter keys (or absent for all)');
      }
      const replayed = await store.replayDead(ids as string[] | undefined);
      logger.info(
        { replayed, selected: ids === undefined ? 'all' : (ids as string[]).length },
        'dead letters moved back to the queue (admin api)',
      );
      return send(res, 200, JSON_TYPE, JSON.stringify({ replayed }) + '\n');
    }
    const before = body.before;
    if (typeof before !== 'number' || !Number.isFinite(before))
      throw new HttpError(400, '"before" must be a time in epoch milliseconds');
    const purged = await store.purgeDead(before);
    logger.info({ purged, before: new Date(before).toISOString() }, 'dead letters purged (admin api)');
    return send(res, 200, JSON_TYPE, JSON.stringify({ purged }) + '\n');
  }

  async function backfillRoute(
    api: BackfillApi,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
  ): Promise<void> {
    const ok = (body: unknown) => send(res, 200, JSON_TYPE, JSON.stringify(body) + '\n');
    if (req.method === 'GET' && path === '/backfill') return ok({ jobs: await api.list() });
    if (req.method === 'GET' && path === '/cursor') return ok({ cursor: await api.cursor() });
    if (req.method !== 'POST') throw new HttpError(405, 'use GET or POST');
    const body = await readJson(req);
    if (path === '/backfill') return ok(await api.submit(body, body.plan === true));
    if (path === '/backfill/cancel') {
      if (typeof body.id !== 'string') throw new HttpError(400, '"id" must be a backfill job id');
      return ok({ job: await api.cancel(body.id) });
    }
    const to = body.startTime;
    if (typeof to !== 'number' || !Number.isFinite(to))
      throw new HttpError(400, '"startTime" must be a time in epoch milliseconds');
    return ok(await api.moveCursor(to, body.apply === true));
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        send(res, err.status, TEXT_TYPE, err.message + '\n');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      logger.error({ path: (req.url ?? '').split('?')[0], err: message }, 'admin request failed');
      send(res, 500, TEXT_TYPE, `${message}\n`);
    });
  }

  return {
    start() {
      if (server) return Promise.reject(new Error('admin server already started'));
      const s = http.createServer({ requestTimeout: ADMIN_DEFAULTS.requestTimeoutMs }, handle);
      server = s;
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          server = null;
          const why =
            err.code === 'EADDRINUSE'
              ? 'the address is in use (another forwarder?)'
              : err.code === 'EACCES'
                ? 'permission denied'
                : err.message;
          reject(
            new ConfigError(
              `admin server cannot listen on ${options.host}:${options.port}: ${why}; set admin.port (flag --admin-port) or admin.enabled = false`,
              { cause: err },
            ),
          );
        };
        s.once('error', onError);
        s.listen(options.port, options.host, () => {
          s.off('error', onError);
          s.on('error', (err) => logger.error({ err: err.message }, 'admin server error'));
          const a = s.address() as AddressInfo;
          logger.info(
            { host: a.address, port: a.port },
            'admin server listening: /metrics, /healthz, /readyz, /status',
          );
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** the spool endpoints are for a cli on this host, not for the network or a browser */
function checkLocal(req: http.IncomingMessage): void {
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (!isLoopbackAddress(req.socket.remoteAddress) || !(LOOPBACK_HOSTS.has(host) || host.startsWith('127.'))) {
    throw new HttpError(
      403,
      'the spool, backfill and cursor endpoints answer only clients on this host (loopback address and Host header)',
    );
  }
}

function intParam(value: string | null, fallback: number, min: number, max: number, name: string): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  return n;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'send a json body with content-type application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > ADMIN_DEFAULTS.bodyLimit) throw new HttpError(413, `body over ${ADMIN_DEFAULTS.bodyLimit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the body is not valid json');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(400, 'the body must be a json object');
  return body as Record<string, unknown>;
}
