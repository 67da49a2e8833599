// the delivery loop: `concurrency` workers each take a batch from the spool, send it, and act on the answer
// (classify.ts). a batch stays with its worker until every log in it is acked (202) or dead-lettered (refused for
// good): retries wait in the worker, never back in the spool, so nothing is lost and nothing is acked early.
// refused and too-large batches are halved until the culprit is alone, then only it is dead-lettered.
import { ConfigError } from '../../errors.js';
import { sleep } from '../../sleep.js';
import type { Logger } from '../../log.js';
import type { Spool, SpoolItem } from '../../spool/types.js';
import {
  authRetryDelayMs,
  classifyError,
  classifyResponse,
  retryDelayMs,
  type Outcome,
  type RetryClass,
} from './classify.js';
import { MAX_ENTRIES_PER_REQUEST, MAX_PAYLOAD_BYTES, arrayOverhead } from './limits.js';
import { createRequestBuilder, type Compression, type RequestBuilder } from './request.js';
import { resolveIntake, type IntakeEndpoint } from './site.js';
import { NodeHttpTransport } from './transport.js';

export interface DatadogSinkOptions {
  /** sent only in the DD-API-KEY header, never logged */
  apiKey: string;
  /** a datadog site (default datadoghq.com) */
  site?: string;
  /** explicit intake base url (http or https), e.g. a proxy; wins over site */
  url?: string;
  /** requests in flight (workers), default 4 */
  concurrency?: number;
  /** logs per request, at most 1000 (default) */
  batchMaxEntries?: number;
  /** sum of the logs' json bytes per request; at most 5,000,000 minus the array's brackets and commas (default) */
  batchMaxBytes?: number;
  /** one request, connect to last response byte; default 30 s */
  timeoutMs?: number;
  /** default gzip */
  compression?: Compression;
  /** zlib level 1-9, default 6 */
  compressionLevel?: number;
  /** PEM file of extra CAs to trust (a tls-inspecting proxy); verification itself is always on */
  extraCaFile?: string;
  /** `ddtags` query parameter added to every request */
  ddtags?: string;
  /** first retry waits up to this (full jitter), default 500 ms */
  retryBaseMs?: number;
  /** backoff window cap, default 60 s */
  retryCapMs?: number;
  /** with a refused api key, retry every authRetryMs to 2 * authRetryMs; default 30 s (30-60 s) */
  authRetryMs?: number;
  /** after a batch under half full, wait this long before taking the next, so requests carry many logs; 0 = none */
  batchWaitMs?: number;
}

export interface DatadogSinkDeps {
  spool: Spool;
  logger: Logger;
  now?: () => number;
  random?: () => number;
  /** called once per request with the intake's status (null: no answer) and the duration (metrics) */
  onResponse?: (status: number | null, seconds: number) => void;
}

export interface DatadogSinkStatus {
  /** logs acked after a 202 */
  delivered: number;
  /** logs moved to the dead-letter store */
  deadLettered: number;
  /** requests sent (including retries and bisection) */
  requests: number;
  /** retries decided, by cause; auth failures count as 4xx */
  retries: Record<RetryClass, number>;
  /** the intake refuses the api key: delivery is held until it works again */
  authFailing: boolean;
  lastError: { status: number | null; message: string; at: number } | null;
  inFlightRequests: number;
  /** set when the spool could not be read (damage) and the workers stopped: nothing is delivered any more */
  stalled: string | null;
}

export interface DatadogSink {
  readonly endpoint: IntakeEndpoint;
  start(): void;
  /** stop taking; let requests in flight finish for up to deadlineMs (default 10 s), then cancel them. logs not
   * answered 202 stay in the spool (un-acked) for the next start. resolves once every worker has returned. */
  stop(deadlineMs?: number): Promise<void>;
  status(): DatadogSinkStatus;
  /** settles once the request template is built (see request.ts): start sources after it, so the worker that
   * builds it (~80 MiB for well under a second) does not overlap a busy start */
  ready(): Promise<void>;
}

interface ResolvedOptions {
  apiKey: string;
  endpoint: IntakeEndpoint;
  concurrency: number;
  batchMaxEntries: number;
  batchMaxBytes: number;
  timeoutMs: number;
  compression: Compression;
  compressionLevel: number;
  extraCaFile: string | undefined;
  ddtags: string | undefined;
  retryBaseMs: number;
  retryCapMs: number;
  authRetryMs: number;
  batchWaitMs: number;
}

export const SINK_DEFAULTS = Object.freeze({
  concurrency: 4,
  batchMaxEntries: MAX_ENTRIES_PER_REQUEST,
  timeoutMs: 30_000, // 30 s
  compression: 'gzip' as Compression,
  compressionLevel: 6,
  retryBaseMs: 500,
  retryCapMs: 60_000, // 1 min
  authRetryMs: 30_000, // 30-60 s between checks of a refused key
  batchWaitMs: 200, // a trickle of logs goes out in a few requests a second, not one request per log
  stopDeadlineMs: 10_000,
});

/** validate once, at creation; errors name the option and what is expected */
export function resolveSinkOptions(options: DatadogSinkOptions): ResolvedOptions {
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
    throw new ConfigError('datadog apiKey is missing: set the Datadog API key (DD_API_KEY)');
  }
  const endpoint = resolveIntake({ site: options.site, url: options.url });
  const concurrency = integer('concurrency', options.concurrency ?? SINK_DEFAULTS.concurrency, 1, 64);
  const batchMaxEntries = integer(
    'batchMaxEntries',
    options.batchMaxEntries ?? SINK_DEFAULTS.batchMaxEntries,
    1,
    MAX_ENTRIES_PER_REQUEST,
  );
  const maxBytes = MAX_PAYLOAD_BYTES - arrayOverhead(batchMaxEntries);
  const batchMaxBytes = integer('batchMaxBytes', options.batchMaxBytes ?? maxBytes, 1, maxBytes);
  const compression = options.compression ?? SINK_DEFAULTS.compression;
  if (!['gzip', 'deflate', 'none'].includes(compression)) {
    throw new ConfigError(`datadog compression "${String(compression)}" is not supported: use gzip, deflate or none`);
  }
  return Object.freeze({
    apiKey: options.apiKey.trim(),
    endpoint,
    concurrency,
    batchMaxEntries,
    batchMaxBytes,
    timeoutMs: integer('timeoutMs', options.timeoutMs ?? SINK_DEFAULTS.timeoutMs, 1, 600_000),
    compression,
    compressionLevel: integer('compressionLevel', options.compressionLevel ?? SINK_DEFAULTS.compressionLevel, 1, 9),
    extraCaFile: options.extraCaFile,
    ddtags: options.ddtags,
    retryBaseMs: integer('retryBaseMs', options.retryBaseMs ?? SINK_DEFAULTS.retryBaseMs, 1, 600_000),
    retryCapMs: integer('retryCapMs', options.retryCapMs ?? SINK_DEFAULTS.retryCapMs, 1, 3_600_000),
    authRetryMs: integer('authRetryMs', options.authRetryMs ?? SINK_DEFAULTS.authRetryMs, 1, 3_600_000),
    batchWaitMs: integer('batchWaitMs', options.batchWaitMs ?? SINK_DEFAULTS.batchWaitMs, 0, 60_000),
  });
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`datadog ${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function createDatadogSink(options: DatadogSinkOptions, deps: DatadogSinkDeps): DatadogSink {
  const o = resolveSinkOptions(options);
  const { spool, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const transport = new NodeHttpTransport({
    concurrency: o.concurrency,
    timeoutMs: o.timeoutMs,
    compressionLevel: o.compressionLevel,
    ...(o.extraCaFile === undefined ? {} : { extraCaFile: o.extraCaFile }),
  });
  const builder: RequestBuilder = createRequestBuilder({
    apiKey: o.apiKey,
    endpoint: o.endpoint,
    compression: o.compression,
    ddtags: o.ddtags,
    httpApi: transport,
  });
  // batchMaxBytes already leaves room for the array's brackets and commas (see resolveSinkOptions)
  const takeBytes = o.batchMaxBytes;
  const where = o.endpoint.intakeBaseUrl;

  const counters = {
    delivered: 0,
    deadLettered: 0,
    requests: 0,
    retries: { '4xx': 0, '429': 0, '5xx': 0, network: 0, other: 0 } as Record<RetryClass, number>,
  };
  let inFlight = 0;
  let lastError: DatadogSinkStatus['lastError'] = null;
  let authFailing = false;
  let authRecovered: { promise: Promise<void>; resolve: () => void } | null = null;
  let started = false;
  let stopping: Promise<void> | null = null;
  const stopTaking = new AbortController(); // wakes take() and backoff sleeps
  const cancelRequests = new AbortController(); // fired at the stop deadline
  const workers: Promise<void>[] = [];
  let stalled: string | null = null;

  function setAuthFailing(failing: boolean): void {
    if (failing === authFailing) return;
    authFailing = failing;
    if (failing) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      authRecovered = { promise, resolve };
    } else {
      authRecovered?.resolve();
      authRecovered = null;
      logger.info({ url: where }, 'datadog accepts the api key again: delivery resumes');
    }
  }

  /** false when the sink is stopping */
  const pause = (ms: number): Promise<boolean> => sleep(ms, stopTaking.signal);

  // an intake or a proxy may echo the request's headers in its error body: the key must not reach a log, a dead
  // letter or /status through it
  const scrub = (text: string): string =>
    o.apiKey.length >= 8 && text.includes(o.apiKey) ? text.split(o.apiKey).join('[redacted]') : text;

  async function sendOnce(values: string[]): Promise<Outcome> {
    inFlight += 1;
    counters.requests += 1;
    let status: number | null = null;
    let started = 0;
    try {
      const request = await builder.build(values, cancelRequests.signal);
      started = performance.now();
      const response = await transport.send(request);
      const text = await response.body.text();
      status = response.httpStatusCode;
      return classifyResponse(status, response.headers, scrub(text), now());
    } catch (error) {
      const outcome = classifyError(error);
      return outcome.kind === 'retry' ? { ...outcome, reason: scrub(outcome.reason) } : outcome;
    } finally {
      inFlight -= 1;
      if (started > 0) deps.onResponse?.(status, (performance.now() - started) / 1000);
    }
  }

  /** send one batch until it is delivered or refused for good; null when the sink stops first */
  async function sendUntilSettled(batch: SpoolItem[]): Promise<Outcome | null> {
    const values = batch.map((item) => item.value);
    for (let attempt = 0; ;) {
      if (stopTaking.signal.aborted) return null;
      const outcome = await sendOnce(values);
      // any answer but 401/403 (or none) means the key got past the intake's check
      if (outcome.kind === 'delivered' || outcome.kind === 'refused' || outcome.kind === 'too-large')
        setAuthFailing(false);
      if (outcome.kind === 'delivered') return outcome;
      // stopping: a failed or cancelled request is not retried, so it is not an error to report either
      if (stopTaking.signal.aborted && (outcome.kind === 'retry' || outcome.kind === 'auth')) return null;
      lastError = { status: outcome.status, message: outcome.reason, at: now() };
      if (outcome.kind === 'refused' || outcome.kind === 'too-large') return outcome;
      let delay: number;
      if (outcome.kind === 'auth') {
        setAuthFailing(true);
        counters.retries['4xx'] += 1;
        delay = authRetryDelayMs(o.authRetryMs, random);
        logger.error(
          { status: outcome.status, url: where, held: batch.length, retryInMs: delay, reason: outcome.reason },
          outcome.cause === 'key'
            ? 'datadog refused the api key: delivery is held (nothing is dropped) until the key is fixed; check the API key and site'
            : 'the intake url answered as if it were not a datadog logs intake (wrong url, proxy prefix or proxy credentials): delivery is held (nothing is dropped); check datadog.url and the proxy',
        );
      } else {
        counters.retries[outcome.retryClass] += 1;
        delay = retryDelayMs(attempt, { baseMs: o.retryBaseMs, capMs: o.retryCapMs, hintMs: outcome.hintMs, random });
        attempt += 1;
        logger.warn(
          {
            status: outcome.status,
            retryClass: outcome.retryClass,
            attempt,
            retryInMs: delay,
            hintMs: outcome.hintMs,
            logs: batch.length,
            reason: outcome.reason,
          },
          'datadog did not take the batch; retrying',
        );
      }
      if (!(await pause(delay))) return null;
    }
  }

  // a failed ack or dead-letter (a disk full for a moment) is retried until it lands: left alone, the records would
  // stay taken, counted against the spool's bound and never deleted. repeating is safe: gone keys are skipped.
  // when the sink stops first, they stay in the spool and are sent again after a restart (never lost).
  async function settle(
    action: 'ack' | 'deadLetter',
    items: SpoolItem[],
    reason = '',
    status: number | null = null,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (action === 'ack') {
          await spool.ack(items);
          counters.delivered += items.length;
        } else {
          await spool.deadLetter(items, reason, status);
          counters.deadLettered += items.length;
          logger.warn(
            { status, spoolKey: items[0]?.key, reason },
            'datadog refused a log for good: moved to the dead-letter store (see `spool ls --dead`)',
          );
        }
        return;
      } catch (error) {
        const delay = retryDelayMs(attempt, { baseMs: o.retryBaseMs, capMs: o.retryCapMs, random });
        logger.error(
          { err: (error as Error).message, logs: items.length, retryInMs: delay },
          `could not ${action === 'ack' ? 'ack delivered' : 'dead-letter refused'} logs in the spool; retrying`,
        );
        if (!(await pause(delay))) return;
      }
    }
  }

  async function deliver(items: SpoolItem[]): Promise<void> {
    const pending: SpoolItem[][] = [items];
    while (pending.length > 0) {
      const batch = pending.pop()!;
      if (batch.length === 1 && batch[0]!.bytes + arrayOverhead(1) > MAX_PAYLOAD_BYTES) {
        const reason = `log is ${batch[0]!.bytes} bytes, over the intake's ${MAX_PAYLOAD_BYTES}-byte payload limit`;
        await settle('deadLetter', batch, reason, null);
        continue;
      }
      const outcome = await sendUntilSettled(batch);
      if (outcome === null) return; // stopping: what is left stays in the spool
      if (outcome.kind === 'delivered') {
        await settle('ack', batch);
      } else if (outcome.kind === 'refused' || outcome.kind === 'too-large') {
        if (batch.length === 1) {
          await settle('deadLetter', batch, outcome.reason, outcome.status);
        } else {
          // halve, left half first; the culprit ends up alone and only it is dead-lettered
          const mid = Math.ceil(batch.length / 2);
          pending.push(batch.slice(mid), batch.slice(0, mid));
          logger.debug({ status: outcome.status, logs: batch.length }, 'datadog refused a batch: splitting it');
        }
      }
    }
  }

  async function work(id: number): Promise<void> {
    let lastBatchSmall = false;
    while (!stopTaking.signal.aborted) {
      if (authRecovered !== null) {
        // another worker holds a batch the key was refused for and probes; the others wait for it (or, at the
        // slow auth pace, go and probe with a batch of their own)
        await Promise.race([authRecovered.promise, pause(authRetryDelayMs(o.authRetryMs, random))]);
        if (stopTaking.signal.aborted) return;
      }
      // each request costs the same whatever it carries: after a small batch, let more logs gather first (a
      // backlog is never delayed: full batches go out back to back)
      if (lastBatchSmall && o.batchWaitMs > 0 && !(await pause(o.batchWaitMs))) return;
      let items: SpoolItem[];
      try {
        items = await spool.take(o.batchMaxEntries, takeBytes, stopTaking.signal);
        lastBatchSmall = items.length * 2 < o.batchMaxEntries;
      } catch (error) {
        // the spool retries passing read errors itself; what it throws is damage that retrying will not heal
        const message = (error as Error).message;
        logger.error({ err: message, worker: id }, 'could not take logs from the spool; this datadog worker stops');
        // one taker at a time reads the same damage: the others stop on it too, and readiness says why
        stalled ??= message;
        return;
      }
      if (items.length === 0) {
        if (!stopTaking.signal.aborted) logger.debug({ worker: id }, 'spool is closing; the datadog worker stops');
        return;
      }
      await deliver(items);
    }
  }

  return {
    endpoint: o.endpoint,
    async ready() {
      const err = await builder.ready();
      if (err) logger.error({ err: err.message }, 'could not build the datadog request; each batch tries again');
    },
    start() {
      if (started) return;
      started = true;
      logger.info(
        {
          url: where,
          site: o.endpoint.site,
          concurrency: o.concurrency,
          batchMaxEntries: o.batchMaxEntries,
          compression: o.compression,
        },
        'datadog sink started',
      );
      for (let i = 0; i < o.concurrency; i += 1) workers.push(work(i));
    },
    stop(deadlineMs = SINK_DEFAULTS.stopDeadlineMs) {
      if (stopping !== null) return stopping;
      stopping = (async () => {
        stopTaking.abort();
        authRecovered?.resolve();
        const timer = setTimeout(() => cancelRequests.abort(), Math.max(0, deadlineMs));
        try {
          await Promise.all(workers);
        } finally {
          clearTimeout(timer);
          transport.close();
        }
        logger.info({ delivered: counters.delivered, deadLettered: counters.deadLettered }, 'datadog sink stopped');
      })();
      return stopping;
    },
    status() {
      return {
        delivered: counters.delivered,
        deadLettered: counters.deadLettered,
        requests: counters.requests,
        retries: { ...counters.retries },
        authFailing,
        lastError: lastError === null ? null : { ...lastError },
        inFlightRequests: inFlight,
        stalled,
      };
    },
  };
}
