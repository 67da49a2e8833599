// the fluentd in_http compatible ingest: https with mutual tls on fastify. a POST is answered 200 (empty body)
// only after deps.accept resolved, i.e. after its records are fsynced in the spool; otherwise nothing is kept.
// the hot path has no hooks, no request logging and no per-request child logger: the benchmark holds it to 85%
// of a bare fastify mtls server.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../../log.js';
import type { SourceRecord } from '../../record.js';
import {
  decodePlain,
  decodeRequest,
  hasContentCoding,
  tagFromPath,
  MAX_TAG_LENGTH,
  MEDIA_TYPES,
  type DecodeInput,
  type DecodedEvent,
} from './decode.js';
import { classify, classifyClientError, errorBody, type Failure } from './responses.js';
import { secureContextOptions, type IngestTls } from './tls.js';
import { guardConnections } from './connections.js';
import type { Section } from '../../config/sections.js';

export type { IngestTls } from './tls.js';

/**
 * the ingest section of the config as it is (sections.ts), and the tls material read from its files. bodyLimit is
 * bytes of body as received, maxDecompressed bytes after gzip/deflate, maxRecords records per request (more:
 * 413), retryAfterMs the wait sent in Retry-After with a 503, requestTimeoutMs the time a client has to send a
 * whole request, ack when a POST is answered 200
 */
export type IngestOptions = Pick<
  Section<'ingest'>,
  'host' | 'port' | 'bodyLimit' | 'maxDecompressed' | 'maxRecords' | 'retryAfterMs' | 'requestTimeoutMs' | 'ack'
> & {
  tls: IngestTls;
  /** idle keep-alive connections are closed after this many ms; default 72 s (above common 60 s proxy idle) */
  keepAliveTimeoutMs?: number;
  /** how long close() waits for requests in flight before it drops their connections; default 10 s */
  closeGraceMs?: number;
};

export type IngestAck = 'fsync' | 'written';

export interface IngestDeps {
  logger: Logger;
  /**
   * stores all records of one request, or rejects (SpoolFullError, SpoolClosedError, ...): synced to disk with
   * sync true, written to the os otherwise
   */
  accept(records: SourceRecord[], sync: boolean): Promise<void>;
  /** called once per answered POST with its status and duration (metrics) */
  onResponse?: (status: number, seconds: number) => void;
}

export interface IngestStats {
  /** the acknowledgement mode */
  ack: IngestAck;
  /** requests that reached a handler (POST, GET, HEAD, others) or were refused by fastify */
  requests: number;
  /** records accepted (durable) */
  records: number;
  status4xx: number;
  /** all 5xx, 503s included */
  status5xx: number;
  status503: number;
  /** verified client certificates refused for their extended key usage */
  tlsRefused: number;
  /** handshakes node failed (no client certificate, unknown CA, expired, ...) */
  tlsFailed: number;
}

export interface IngestServer {
  /** listens; rejects with TlsFileError when the tls material is unusable */
  start(): Promise<{ host: string; port: number }>;
  /** stops accepting, waits for in-flight requests; idempotent */
  close(): Promise<void>;
  /** swaps certificates and CA for new connections (SIGHUP); throws TlsFileError and keeps the old ones */
  reloadTls(tls: IngestOptions['tls']): void;
  stats(): IngestStats;
}

const DEFAULT_KEEP_ALIVE_MS = 72_000;
const DEFAULT_CLOSE_GRACE_MS = 10_000;
const EMPTY = Buffer.alloc(0);
const kGeneration = Symbol('tlsGeneration');
const kStartedAt = Symbol('startedAt');

type TaggedSocket = Socket & { [kGeneration]?: number };
type TimedRequest = IncomingMessage & { [kStartedAt]?: number };

/**
 * seconds since the request's headers were parsed. fastify's reply.elapsedTime is 0 without a logger or a response
 * hook (the ingest has neither, for speed): the raw server stamps each request instead
 */
function secondsSince(req: FastifyRequest): number {
  const at = (req.raw as TimedRequest)[kStartedAt];
  return at === undefined ? 0 : (performance.now() - at) / 1000;
}

export function createIngestServer(options: IngestOptions, deps: IngestDeps): IngestServer {
  const log = deps.logger;
  const limits = { maxDecompressedBytes: options.maxDecompressed, maxRecords: options.maxRecords };
  // Retry-After is whole seconds, at least 1
  const retryAfterSeconds = Math.max(1, Math.ceil(options.retryAfterMs / 1000));
  const classifyOpts = { bodyLimit: options.bodyLimit, retryAfterSeconds };
  const sync = options.ack === 'fsync';
  const counters: IngestStats = {
    ack: options.ack,
    requests: 0,
    records: 0,
    status4xx: 0,
    status5xx: 0,
    status503: 0,
    tlsRefused: 0,
    tlsFailed: 0,
  };
  let tlsMaterial = options.tls;
  // bumped by reloadTls: connections authenticated under older material are closed after their request
  let generation = 0;
  let app: FastifyInstance | null = null;
  let closing = false;
  let closed: Promise<void> | null = null;

  function count(status: number): void {
    if (status >= 500) {
      counters.status5xx++;
      if (status === 503) counters.status503++;
    } else if (status >= 400) {
      counters.status4xx++;
    }
  }

  function pathOf(url: string): string {
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }

  function fail(req: FastifyRequest, reply: FastifyReply, f: Failure, err?: unknown): FastifyReply {
    count(f.status);
    // the query string may carry the event itself (json=...): log the path only
    const fields = { method: req.method, path: pathOf(req.url), status: f.status, reason: f.reason };
    if (f.internal) log.error({ ...fields, err }, 'ingest request failed with an unexpected error');
    else log.debug(fields, 'ingest request refused');
    if (f.retryAfter !== undefined) reply.header('retry-after', String(f.retryAfter));
    if (closing) reply.header('connection', 'close');
    deps.onResponse?.(f.status, secondsSince(req));
    return reply.code(f.status).header('content-type', 'text/plain').send(errorBody(f.status, f.reason));
  }

  function ok(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    if ((req.raw.socket as TaggedSocket)[kGeneration] !== generation || closing) reply.header('connection', 'close');
    deps.onResponse?.(200, secondsSince(req));
    return reply.code(200).header('content-type', 'text/plain').send();
  }

  // a client posts to the same path request after request: its tag is worked out once
  let lastUrl = '';
  let lastTag: string | null = null;
  function tagOf(url: string): string | null {
    if (url !== lastUrl) {
      lastTag = tagFromPath(url);
      lastUrl = url;
    }
    return lastTag;
  }

  async function onPost(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    counters.requests++;
    if (closing) return fail(req, reply, { status: 503, reason: 'the forwarder is shutting down' });
    const tag = tagOf(req.url);
    if (tag === null) {
      const reason = `no valid tag in the path ${JSON.stringify(pathOf(req.url).slice(0, 300))}: POST to /<tag> (e.g. /test.log or /a/b for a.b; at most ${MAX_TAG_LENGTH} characters)`;
      return fail(req, reply, { status: 400, reason });
    }
    try {
      const input: DecodeInput = {
        tag,
        contentType: req.headers['content-type'],
        contentEncoding: req.headers['content-encoding'],
        body: (req.body as Buffer | undefined) ?? EMPTY,
        query: req.query as Record<string, string | string[] | undefined>,
      };
      // a body without content coding is decoded synchronously: no await before the spool's
      const events: DecodedEvent[] = hasContentCoding(input)
        ? await decodeRequest(input, limits, Date.now())
        : decodePlain(input, limits, Date.now());
      if (events.length > 0) {
        const records: SourceRecord[] = new Array(events.length);
        for (let i = 0; i < events.length; i++) {
          const e = events[i]!;
          records[i] = { tag, time: e.time, record: e.record, text: e.text };
        }
        await deps.accept(records, sync);
        counters.records += records.length;
      }
      return ok(req, reply);
    } catch (err) {
      return fail(req, reply, classify(err, classifyOpts), err);
    }
  }

  function onGet(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    // health probes GET fluentd's port
    counters.requests++;
    return ok(req, reply);
  }

  function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    // a tls error (a handshake that never finished or failed) has no http to answer on: close the socket, or an
    // unauthenticated client could hold it (and shutdown) open
    if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable || /^ERR_(TLS|SSL)_/.test(err.code ?? '')) {
      socket.destroy();
      return;
    }
    const { status, reason } = classifyClientError(err);
    count(status);
    log.debug({ status, code: err.code, remote: socket.remoteAddress }, 'malformed HTTP request');
    const body = errorBody(status, reason);
    socket.end(
      `HTTP/1.1 ${status} ${body.slice(4, body.indexOf('\n'))}\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  const sockets = new Set<Socket>();

  function build(): FastifyInstance {
    const secure = secureContextOptions(tlsMaterial);
    const requestTimeout = options.requestTimeoutMs;
    const instance = Fastify({
      // node checks request timeouts every connectionsCheckingInterval (30 s by default): keep it below the timeout
      https: {
        ...secure,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['http/1.1'],
        connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 4))),
      } as Record<string, unknown>,
      logger: false,
      bodyLimit: options.bodyLimit,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      requestTimeout,
      // a socket silent for as long is dropped too: the backstop for a client stalled mid-request
      connectionTimeout: requestTimeout,
      return503OnClosing: false,
      requestIdHeader: false,
      clientErrorHandler: onClientError,
      frameworkErrors: (err, req, reply) => {
        counters.requests++;
        return fail(req, reply, { status: 400, reason: `invalid request path (${err.code})` });
      },
    });
    // one raw-body parser for every content type: decode.ts does all the format work and all the errors. it is
    // registered by name for the types decode reads as well: fastify caches the parser it finds for a header value
    // but not the catch-all, so with '*' alone it parsed the Content-Type header (its ContentType) every request
    instance.removeAllContentTypeParsers();
    const rawBody = (_req: unknown, body: Buffer | string, done: (err: null, body: Buffer | string) => void) =>
      done(null, body);
    instance.addContentTypeParser('*', { parseAs: 'buffer' }, rawBody);
    instance.addContentTypeParser([...MEDIA_TYPES], { parseAs: 'buffer' }, rawBody);
    instance.post('/*', onPost);
    instance.get('/*', onGet);
    instance.setNotFoundHandler((req, reply) => {
      counters.requests++;
      reply.header('allow', 'GET, HEAD, POST');
      return fail(req, reply, { status: 405, reason: `${req.method} is not supported: POST events, GET for health` });
    });
    instance.setErrorHandler((err, req, reply) => {
      counters.requests++;
      return fail(req, reply, classify(err, classifyOpts), err);
    });
    guardConnections(instance.server as HttpsServer, {
      log,
      counters,
      accepted: (socket) => ((socket as TaggedSocket)[kGeneration] = generation),
    });
    // before fastify's own listener, so the time includes reading and decoding the body
    instance.server.prependListener('request', (req: TimedRequest) => {
      req[kStartedAt] = performance.now();
    });
    // every tcp connection, from before its tls handshake on, so close() can drop them all after its grace period
    instance.server.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
    });
    return instance;
  }

  return {
    async start() {
      if (app !== null) throw new Error('ingest server already started');
      app = build();
      await app.listen({ host: options.host, port: options.port });
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
      log.info({ host: options.host, port }, 'fluentd-compatible ingest listening (https, mutual TLS)');
      return { host: options.host, port };
    },

    close() {
      if (closed === null) {
        closing = true;
        const a = app;
        // requests in flight get a grace period to finish (their records are durable or not yet answered: a
        // dropped connection loses nothing acknowledged); then their connections are dropped
        closed =
          a === null
            ? Promise.resolve()
            : (async () => {
                let timer: NodeJS.Timeout | undefined;
                const grace = new Promise<void>((resolve) => {
                  timer = setTimeout(() => {
                    log.warn({}, 'ingest requests still open after the close grace period: dropping their connections');
                    a.server.closeAllConnections();
                    // sockets still in their tls handshake are no http connections: closeAllConnections misses them
                    for (const sock of sockets) sock.destroy();
                    resolve();
                  }, options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
                });
                await Promise.race([a.close(), grace]);
                clearTimeout(timer);
                await a.close();
              })();
      }
      return closed;
    },

    reloadTls(t) {
      const secure = secureContextOptions(t);
      tlsMaterial = t;
      if (app === null) return;
      const server = app.server as HttpsServer;
      server.setSecureContext(secure);
      // session tickets issued under the old material must not skip the new client certificate check
      server.setTicketKeys(randomBytes(48));
      generation++;
      server.closeIdleConnections();
      log.info({}, 'ingest TLS material reloaded: new connections use the new CA and server certificate');
    },

    stats() {
      return { ...counters };
    },
  };
}
