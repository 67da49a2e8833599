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
import { createSettle } from './settle.js';
import type { Section } from '../../config/sections.js';
import { NodeHttpTransport } from './transport.js';

/** the datadog section of the config as it is (sections.ts), with the key it needs and tags the tests may add */
export type DatadogSinkOptions = Section<'datadog'> & {
  /** `ddtags` query parameter added to every request */
  ddtags?: string;
};

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

/** how long stop() lets requests in flight finish by default */
const STOP_DEADLINE_MS = 10_000;

/**
 * the intake the options point at. what the schema cannot check alone is checked here: a key is needed, and
 * the bytes per request must leave room for the array's brackets and commas within the intake's payload limit
 */
export function sinkEndpoint(options: DatadogSinkOptions): IntakeEndpoint {
  if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
    throw new ConfigError('datadog apiKey is missing: set the Datadog API key (DD_API_KEY)');
  }
  const maxBytes = MAX_PAYLOAD_BYTES - arrayOverhead(options.batchMaxEntries);
  if (options.batchMaxBytes > maxBytes) {
    throw new ConfigError(
      `datadog batchMaxBytes must be a whole number from 1 to ${maxBytes}, got ${String(options.batchMaxBytes)}`,
    );
  }
  return resolveIntake({ site: options.site, url: options.url });
}

// an intake or a proxy may echo the request's headers in its error body: the key must not reach a log, a dead
// letter or /status through it
function keyScrubber(apiKey: string): (text: string) => string {
  return (text) => (apiKey.length >= 8 && text.includes(apiKey) ? text.split(apiKey).join('[redacted]') : text);
}

export function createDatadogSink(options: DatadogSinkOptions, deps: DatadogSinkDeps): DatadogSink {
  const o = options;
  const endpoint = sinkEndpoint(o);
  const apiKey = o.apiKey!;
  const { spool, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const transport = new NodeHttpTransport({
    concurrency: o.concurrency,
    timeoutMs: o.timeoutMs,
    compressionLevel: o.compressionLevel,
    ...(o.caFile === undefined ? {} : { extraCaFile: o.caFile }),
  });
  const builder: RequestBuilder = createRequestBuilder({
    apiKey,
    endpoint,
    compression: o.compression,
    ddtags: o.ddtags,
    httpApi: transport,
  });
  // batchMaxBytes already leaves room for the array's brackets and commas (see sinkEndpoint)
  const takeBytes = o.batchMaxBytes;
  const where = endpoint.intakeBaseUrl;

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

  const scrub = keyScrubber(apiKey);
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
        delay = retryDelayMs(attempt, {
          baseMs: o.retryInitialMs,
          capMs: o.retryMaxMs,
          hintMs: outcome.hintMs,
          random,
        });
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

  const settle = createSettle({
    spool,
    logger,
    counters,
    backoff: (attempt) => retryDelayMs(attempt, { baseMs: o.retryInitialMs, capMs: o.retryMaxMs, random }),
    pause,
  });

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
    endpoint: endpoint,
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
          site: endpoint.site,
          concurrency: o.concurrency,
          batchMaxEntries: o.batchMaxEntries,
          compression: o.compression,
        },
        'datadog sink started',
      );
      for (let i = 0; i < o.concurrency; i += 1) workers.push(work(i));
    },
    stop(deadlineMs = STOP_DEADLINE_MS) {
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
