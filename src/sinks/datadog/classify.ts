// what the sink does with an intake answer. pure: status, headers and body (or a transport error) in, decision out.
//   202            delivered: ack
//   400, other 4xx refused: bisect the batch; a single refused log is dead-lettered with the status and body
//   413            too large: split and resend (never as is); a single log answered 413 is dead-lettered
//   401, 403       auth: hold the batch (never drop), alarm, retry slowly until the key works again
//   408, 429, 5xx  retry with exponential backoff and full jitter, honouring retry-after and rate-limit headers
//   no answer      (connect, tls, reset, timeout) retry like 5xx
//   other          (1xx, non-202 2xx, 3xx) retry: only a 202 means datadog has the logs
import { STATUS_CODES } from 'node:http';
import { fullJitterMs, unit } from '../../backoff.js';

/** the retry counters the sink keeps; 'other' is anything that is neither an error nor a 202 */
export type RetryClass = '4xx' | '429' | '5xx' | 'network' | 'other';

export type Outcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'refused'; status: number; reason: string }
  | { kind: 'too-large'; status: number; reason: string }
  /** hold delivery and retry slowly: the key is refused (401/403), or the url or a proxy is wrong (404/405/407) */
  | { kind: 'auth'; status: number; reason: string; cause: 'key' | 'endpoint' }
  | { kind: 'retry'; retryClass: RetryClass; status: number | null; reason: string; hintMs: number | null };

export type ResponseHeaders = Record<string, string | undefined>;

/** longest response body kept in a reason (dead letters, logs, status) */
export const MAX_REASON_BODY = 1024;
/** a server hint (retry-after, rate-limit reset) longer than this (10 min) is cut back: delays stay bounded */
export const MAX_HINT_MS = 10 * 60_000;

export function classifyResponse(status: number, headers: ResponseHeaders, body: string, now: number): Outcome {
  const reason = describeResponse(status, body);
  if (status === 202) return { kind: 'delivered', status };
  if (status === 413) return { kind: 'too-large', status, reason };
  if (status === 401 || status === 403) return { kind: 'auth', status, reason, cause: 'key' };
  // a wrong url, proxy prefix or proxy credentials says nothing about the logs: dead-lettering would empty the spool
  if (status === 404 || status === 405 || status === 407) return { kind: 'auth', status, reason, cause: 'endpoint' };
  if (status === 429)
    return { kind: 'retry', retryClass: '429', status, reason, hintMs: retryHintMs(headers, now, true) };
  // only a bad request is about the logs themselves: bisect to the culprit and dead-letter it
  if (status === 400 || status === 422) return { kind: 'refused', status, reason };
  if (status >= 400 && status < 500)
    return { kind: 'retry', retryClass: '4xx', status, reason, hintMs: retryHintMs(headers, now, false) };
  if (status >= 500)
    return { kind: 'retry', retryClass: '5xx', status, reason, hintMs: retryHintMs(headers, now, false) };
  return { kind: 'retry', retryClass: 'other', status, reason, hintMs: null };
}

/** no http answer: every transport failure is worth another try */
export function classifyError(error: unknown): Outcome {
  const reason = error instanceof Error ? error.message : String(error);
  return { kind: 'retry', retryClass: 'network', status: null, reason, hintMs: null };
}

/** `HTTP 400 Bad Request: <body>`, body on one line and cut to MAX_REASON_BODY characters */
export function describeResponse(status: number, body: string): string {
  const text = body.replace(/\s+/g, ' ').trim();
  const cut = text.length > MAX_REASON_BODY ? `${text.slice(0, MAX_REASON_BODY)}…` : text;
  const head = `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  return cut === '' ? head : `${head}: ${cut}`;
}

/**
 * how long the server asked us to wait, in ms, or null. `Retry-After` (seconds or an http date) first; then
 * datadog's rate-limit headers: `X-RateLimit-Reset` (seconds until the window resets) when the limit is hit
 * (a 429, or `X-RateLimit-Remaining: 0`), and on a 429 without a reset, `X-RateLimit-Period` (the window length).
 */
export function retryHintMs(headers: ResponseHeaders, now: number, rateLimited: boolean): number | null {
  const retryAfter = parseRetryAfter(header(headers, 'retry-after'), now);
  if (retryAfter !== null) return Math.min(retryAfter, MAX_HINT_MS);
  const remaining = seconds(header(headers, 'x-ratelimit-remaining'));
  const limitHit = rateLimited || remaining === 0;
  if (!limitHit) return null;
  const reset = seconds(header(headers, 'x-ratelimit-reset'));
  if (reset !== null) return Math.min(reset * 1000, MAX_HINT_MS);
  const period = seconds(header(headers, 'x-ratelimit-period'));
  if (rateLimited && period !== null) return Math.min(period * 1000, MAX_HINT_MS);
  return null;
}

export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const s = seconds(value);
  if (s !== null) return s * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

export interface RetryDelayOptions {
  /** first retry waits up to this long */
  baseMs: number;
  /** the exponential window stops growing here */
  capMs: number;
  /** what the server asked for (retryHintMs), if anything */
  hintMs?: number | null;
  /** [0, 1), injectable for tests */
  random: () => number;
}

/**
 * delay before retry number `attempt` (0 for the first retry). with no server hint: full jitter, a uniform draw in
 * [0, min(cap, base * 2^attempt)), so many workers spread out after an outage. with a hint: the hint plus a short
 * jitter (up to min(base, 1 s)) so workers do not all return in the same instant.
 */
export function retryDelayMs(attempt: number, options: RetryDelayOptions): number {
  if (options.hintMs !== undefined && options.hintMs !== null) {
    const r = unit(options.random());
    return Math.round(Math.min(options.hintMs, MAX_HINT_MS) + r * Math.min(options.baseMs, 1000));
  }
  return fullJitterMs(attempt, options.baseMs, options.capMs, options.random);
}

/** auth failures are retried slowly: a uniform draw in [baseMs, 2 * baseMs) */
export function authRetryDelayMs(baseMs: number, random: () => number): number {
  return Math.floor(baseMs + unit(random()) * baseMs);
}

function header(headers: ResponseHeaders, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}

/** a non-negative number of seconds (fractions allowed), or null */
function seconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  return Number(text);
}
