// turns a SourceRecord into the JSON text of one Datadog HTTP log item, the way fluent-plugin-datadog does:
// the record's own keys go out as they are; ddsource, ddsourcecategory, ddtags, service, hostname and the
// timestamp are added only where absent (missing or null); include_tag_key overwrites record[tag_key].
// we add one thing fluentd does not: `status` from the last letter of a teleport event code (T1000W -> warn).
// rules are tried in order and the first match wins. pure apart from a rate-limited warning about
// unmatched tags. on the hot path the record is serialized once and the added keys are appended as text.

import { ConfigError } from '../errors.js';
import type { SourceRecord } from '../record.js';
import { compilePattern, type TagMatcher } from './pattern.js';
import { fitJson, MIN_FIT_BYTES, toJson, TRUNCATED_KEY } from './truncate.js';
import { formatDuration, goDuration } from '../format.js';
import { LogInterval } from '../log.js';
import { compileTemplate, Expansion, type Template } from '../filter/placeholders.js';

export { TRUNCATED_KEY, DROPPED_KEY } from './truncate.js';

export interface MatchRule {
  /** one or more fluentd patterns, whitespace separated */
  pattern: string;
  /** null drops (explicitly) */
  type: 'datadog' | 'null';
  /** ddsource */
  source?: string;
  /** ddsourcecategory */
  sourceCategory?: string;
  service?: string;
  /** joined with ',' into ddtags */
  tags?: string[];
  /** default: RouterOptions.hostname */
  hostname?: string;
  /** default false: when true, record[tagKey] = tag */
  includeTagKey?: boolean;
  /** default 'tag' */
  tagKey?: string;
  /** default '@timestamp' (ISO 8601 UTC with ms from SourceRecord.time); '' = none */
  timestampKey?: string;
}

export interface RouterOptions {
  rules: MatchRule[];
  /** drop: count + rate-limited warn (like fluentd). reject: RouteResult kind 'reject' */
  unmatched: 'drop' | 'reject';
  hostname: string;
  /** default 1_000_000 (Datadog's per-log limit) */
  maxLogBytes?: number;
  /** for the warn rate limit and the age of events */
  now?: () => number;
  /**
   * runs fn once after ms (the end of an "old events" log interval) and returns its cancel. default: an unref'd
   * setTimeout, so the pending line never keeps the process alive (flush() logs it at stop)
   */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /**
   * events older than maxAgeMs (Datadog does not index logs over 18 h old as current): restamp sends them with
   * the timestamp key set to now and the event time kept in `original_timestamp`; keep sends them as they are;
   * drop drops them. unset: no age check (the app sets the configured policy).
   */
  oldTimestamps?: 'restamp' | 'keep' | 'drop';
  /** default 17 h: a margin under datadog's 18 h */
  maxAgeMs?: number;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
}

export type RouteResult =
  | { kind: 'send'; value: string; rule: number }
  | { kind: 'drop'; reason: 'null-rule' | 'unmatched' | 'too-old'; rule: number | null }
  /** unmatched with unmatched='reject', or a record that cannot be serialized as JSON */
  | { kind: 'reject'; reason: string };

export interface RouterStats {
  /** records turned into a Datadog log item */
  routed: number;
  droppedNullRule: number;
  /** records that matched no rule and were dropped (unmatched='drop') */
  unmatched: number;
  /** records rejected: no rule matched (unmatched='reject') or not serializable */
  rejected: number;
  /** routed records that had to be shrunk to fit maxLogBytes */
  truncated: number;
  /** events older than maxAgeMs, by what the old-timestamp policy did with them */
  oldRestamped: number;
  oldKept: number;
  oldDropped: number;
}

export interface Router {
  /**
   * `unmatched` overrides the configured policy for this record: the poller's records have no client to answer
   * 400, so a record no rule matches is dropped and counted even under unmatched = reject
   */
  route(rec: SourceRecord, unmatched?: 'drop'): RouteResult;
  stats(): RouterStats;
  /** logs the old-timestamp count not logged yet (nothing when there is none) and cancels its timer: call at stop */
  flush(): void;
}

export const ROUTER_DEFAULTS = Object.freeze({
  maxLogBytes: 1_000_000, // bytes; Datadog truncates larger logs
  tagKey: 'tag',
  timestampKey: '@timestamp',
  unmatchedWarnIntervalMs: 10_000, // at most one "no rule matched" warning per interval
  unmatchedTagsTracked: 1000, // distinct tags counted between two warnings; the tag comes from clients
  tagCharsShown: 200, // longer tags are cut in warnings and reasons (an http path can be long)
  maxAgeMs: 17 * 3_600_000, // datadog indexes logs up to 18 h old as current; keep a margin
  originalTimestampKey: 'original_timestamp',
  oldLogIntervalMs: 60_000, // the first old event is logged at once, the rest at most once a minute with their count
});

// a teleport event code: T, a few digits or capitals, and a severity letter
const CODE_RE = /^T[0-9A-Z]{2,8}[IWE]$/;
const STATUS_BY_LETTER: Record<string, string> = { I: 'info', W: 'warn', E: 'error' };
const MAX_DATE_MS = 8.64e15;
// what identifies a teleport event: kept longest when a record's values must be dropped to fit
const IDENTITY_KEYS = ['event', 'code', 'uid', 'id', 'time', 'ei', 'sid', 'user', 'cluster_name'];

interface CompiledRule {
  readonly match: TagMatcher;
  readonly drop: boolean;
  /** [key, value] added when the record has no (or a null) value, in output order */
  readonly enrich: ReadonlyArray<readonly [string, string]>;
  /** the same as `,"key":"value"` text */
  readonly enrichJson: readonly string[];
  readonly timestampKey: string;
  readonly timestampPrefix: string;
  readonly tagKey: string | null;
  readonly tagPrefix: string;
  /** keys added by this rule are distinct, so the text fast path cannot write one twice */
  readonly distinctKeys: boolean;
  /** distinct keys, none of them original_timestamp: a restamp can be appended as text */
  readonly restampText: boolean;
  /** keys that truncation drops last */
  readonly keep: ReadonlySet<string>;
  /** service, tags or hostname with record_transformer placeholders: the rule for one record */
  readonly resolve?: (rec: SourceRecord) => CompiledRule;
}

export function createRouter(options: RouterOptions): Router {
  const o = validateOptions(options);
  const rules = o.rules.map((r, i) => compileRule(r, i, o.hostname));
  const maxLogBytes = o.maxLogBytes ?? ROUTER_DEFAULTS.maxLogBytes;
  const warn = o.logger ? o.logger.warn.bind(o.logger) : undefined;
  const now = o.now ?? Date.now;
  const rejectUnmatched = o.unmatched === 'reject';

  const stats: RouterStats = {
    routed: 0,
    droppedNullRule: 0,
    unmatched: 0,
    rejected: 0,
    truncated: 0,
    oldRestamped: 0,
    oldKept: 0,
    oldDropped: 0,
  };
  const maxAgeMs = o.maxAgeMs ?? ROUTER_DEFAULTS.maxAgeMs;
  const oldPolicy = o.oldTimestamps;
  const info = o.logger?.info ? o.logger.info.bind(o.logger) : warn;
  const setTimer = o.setTimer ?? unrefTimer;
  const oldInterval = ROUTER_DEFAULTS.oldLogIntervalMs;
  const oldLog = new LogInterval(oldInterval);
  // old events not logged yet, the time of the first of them, and the end-of-interval timer that logs them
  let oldPending = 0;
  let oldPendingSample: number | undefined;
  let cancelOldTimer: (() => void) | undefined;

  // a backfill must not vanish silently: apply the policy and say how many events it touched. the first old
  // event is logged at once (the policy is seen to be active); later ones are counted and logged when the
  // interval ends or at flush(), so the logged counts add up to the stats
  function old(rec: SourceRecord, t: number): 'drop' | 'keep' | 'restamp' {
    let action: 'drop' | 'keep' | 'restamp' = 'restamp';
    if (oldPolicy === 'drop') {
      stats.oldDropped += 1;
      action = 'drop';
    } else if (oldPolicy === 'keep') {
      stats.oldKept += 1;
      action = 'keep';
    } else stats.oldRestamped += 1;
    if (info) {
      oldPending += 1;
      if (oldPending === 1) oldPendingSample = rec.time;
      if (oldLog.due(t)) logOld(t);
      // the clock can step back: never wait longer than one interval
      else cancelOldTimer ??= setTimer(onOldTimer, Math.min(oldInterval, oldLog.lastAt + oldInterval - t));
    }
    return action;
  }

  function onOldTimer(): void {
    cancelOldTimer = undefined;
    if (oldPending > 0) logOld(now());
  }

  function logOld(t: number): void {
    if (cancelOldTimer) {
      cancelOldTimer();
      cancelOldTimer = undefined;
    }
    const first = oldLog.lastAt === -Infinity;
    const periodMs = first ? 0 : Math.max(0, t - oldLog.lastAt);
    const n = oldPending;
    const what =
      oldPolicy === 'restamp'
        ? 'sent stamped now, with original_timestamp'
        : oldPolicy === 'drop'
          ? 'dropped'
          : 'sent as they are';
    const when = first ? '' : ` in the last ${formatDuration(periodMs / 1000)}`;
    const next = first ? `; later counts follow at most every ${goDuration(oldInterval)}` : '';
    info?.(
      {
        events: n,
        policy: oldPolicy,
        maxAgeMs,
        periodMs,
        sampleTime: isoTime(oldPendingSample ?? NaN),
        // the running totals apart, so the line has one count: the events of this period
        sinceStart: { restamped: stats.oldRestamped, kept: stats.oldKept, dropped: stats.oldDropped },
      },
      `routing.old-timestamps = ${String(oldPolicy)}: ${n} ${n === 1 ? 'event' : 'events'} older than ${goDuration(maxAgeMs)}${when} (routing.max-age, a margin under the 18 h Datadog indexes logs for as current): ${what}${next}`,
    );
    oldLog.mark(t);
    oldPending = 0;
    oldPendingSample = undefined;
  }

  // a backfill restamps every event: the key goes onto the record's text instead of a copy of the record. the
  // copy (restamped) is made only where the text path gives way to the object path (null keys, too big)
  function sendRestamped(rule: CompiledRule, index: number, rec: SourceRecord, t: number): RouteResult {
    const record = rec.record;
    if (!rule.restampText || !appendable(record)) return send(rule, index, restamped(rec, t));
    let json = '';
    try {
      json = serializeFast(rule, record, t, rec.tag, ORIGINAL_PREFIX + stringify(isoTime(rec.time) ?? rec.time));
    } catch {
      // the object path rejects it with the reason
    }
    if (json === '' || !fits(json, maxLogBytes)) return send(rule, index, restamped(rec, t));
    stats.routed += 1;
    return { kind: 'send', value: json, rule: index };
  }
  const unmatchedLog = new LogInterval(ROUTER_DEFAULTS.unmatchedWarnIntervalMs);
  let sinceWarn = 0;
  let tagCounts = new Map<string, number>();

  function unmatched(fullTag: string, drop: boolean): RouteResult {
    const tag = shortTag(fullTag);
    if (rejectUnmatched && !drop) {
      stats.rejected += 1;
      return { kind: 'reject', reason: `no <match> rule matches tag "${tag}"` };
    }
    stats.unmatched += 1;
    sinceWarn += 1;
    const seen = tagCounts.get(tag);
    if (seen !== undefined) tagCounts.set(tag, seen + 1);
    else if (tagCounts.size < ROUTER_DEFAULTS.unmatchedTagsTracked) tagCounts.set(tag, 1);
    const t = now();
    if (warn && unmatchedLog.due(t)) {
      const tags = [...tagCounts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([name, count]) => ({ tag: name, count }));
      warn(
        { unmatched: sinceWarn, sampleTag: tag, tags, totalUnmatched: stats.unmatched },
        'records matched no <match> rule and were dropped',
      );
      unmatchedLog.mark(t);
      sinceWarn = 0;
      tagCounts = new Map();
    }
    return { kind: 'drop', reason: 'unmatched', rule: null };
  }

  function send(rule: CompiledRule, index: number, rec: SourceRecord): RouteResult {
    const record = rec.record;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      stats.rejected += 1;
      return { kind: 'reject', reason: `record with tag "${shortTag(rec.tag)}" is not a JSON object` };
    }
    let json: string;
    try {
      json = rule.distinctKeys ? serializeFast(rule, record, rec.time, rec.tag, '') : '';
      if (json === '') json = stringify(buildItem(rule, record, rec));
      if (!fits(json, maxLogBytes)) {
        json = fitJson(buildItem(rule, record, rec), maxLogBytes, rule.keep);
        stats.truncated += 1;
      }
    } catch (err) {
      stats.rejected += 1;
      const why = (err as Error).message;
      return { kind: 'reject', reason: `record with tag "${shortTag(rec.tag)}" cannot be written as JSON: ${why}` };
    }
    stats.routed += 1;
    return { kind: 'send', value: json, rule: index };
  }

  return {
    route(rec: SourceRecord, unmatchedPolicy?: 'drop'): RouteResult {
      const tag = rec.tag;
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i];
        if (!rule.match(tag)) continue;
        if (rule.drop) {
          stats.droppedNullRule += 1;
          return { kind: 'drop', reason: 'null-rule', rule: i };
        }
        const r = rule.resolve ? rule.resolve(rec) : rule;
        if (oldPolicy !== undefined && maxAgeMs > 0 && typeof rec.time === 'number') {
          const t = now();
          if (t - rec.time > maxAgeMs) {
            const action = old(rec, t);
            if (action === 'drop') return { kind: 'drop', reason: 'too-old', rule: i };
            if (action === 'restamp') return sendRestamped(r, i, rec, t);
          }
        }
        return send(r, i, rec);
      }
      return unmatched(tag, unmatchedPolicy === 'drop');
    },
    stats: () => ({ ...stats }),
    flush(): void {
      if (oldPending > 0) logOld(now());
      else if (cancelOldTimer) {
        cancelOldTimer();
        cancelOldTimer = undefined;
      }
    },
  };
}

function unrefTimer(fn: () => void, ms: number): () => void {
  const h = setTimeout(fn, ms);
  h.unref();
  return () => clearTimeout(h);
}

const ORIGINAL_PREFIX = `,${JSON.stringify(ROUTER_DEFAULTS.originalTimestampKey)}:`;

/** an old event stamped now, its own time kept in original_timestamp (after the record's keys) */
function restamped(rec: SourceRecord, t: number): SourceRecord {
  const record = rec.record;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return rec;
  return {
    tag: rec.tag,
    time: t,
    record: { ...record, [ROUTER_DEFAULTS.originalTimestampKey]: isoTime(rec.time) ?? rec.time },
  };
}

// whether the record's text plus `,"original_timestamp":...` reads as the text of restamped()'s copy: a plain
// object (the copy has no inherited keys, the text path reads them) without that key and without toJSON
function appendable(record: unknown): record is Record<string, unknown> {
  if (typeof record !== 'object' || record === null || Object.getPrototypeOf(record) !== Object.prototype) return false;
  const r = record as Record<string, unknown>;
  return !Object.hasOwn(r, ROUTER_DEFAULTS.originalTimestampKey) && typeof r.toJSON !== 'function';
}

// the record's JSON text with `appended` (text of keys that come right after the record's own) and the added
// keys; '' when a key is present with a null value or the tag key must be overwritten, which the object path
// handles
function serializeFast(
  rule: CompiledRule,
  record: Record<string, unknown>,
  time: number,
  tag: string,
  appended: string,
): string {
  let extra = appended;
  for (let i = 0; i < rule.enrich.length; i++) {
    const v = record[rule.enrich[i][0]];
    if (v === undefined) extra += rule.enrichJson[i];
    else if (v === null) return '';
  }
  if (rule.timestampKey !== '') {
    const v = record[rule.timestampKey];
    if (v === undefined) {
      const ts = isoTime(time);
      if (ts !== undefined) extra += rule.timestampPrefix + ts + '"';
    } else if (v === null) return '';
  }
  const status = record.status;
  if (status === undefined) {
    const s = statusOf(record.code);
    if (s !== undefined) extra += ',"status":"' + s + '"';
  } else if (status === null) return '';
  if (rule.tagKey !== null) {
    if (record[rule.tagKey] !== undefined) return '';
    extra += rule.tagPrefix + JSON.stringify(tag);
  }
  const json = stringify(record);
  if (extra === '') return json;
  if (json === '{}') return '{' + extra.slice(1) + '}';
  return json.slice(0, -1) + extra + '}';
}

// the same item as an object (a shallow copy: nested values are shared with the record, never written).
// added keys go at the end in a fixed order, so both paths give the same text.
function buildItem(rule: CompiledRule, record: Record<string, unknown>, rec: SourceRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const [k, v] of rule.enrich) if (out[k] == null) put(out, k, v);
  if (rule.timestampKey !== '' && out[rule.timestampKey] == null) {
    const ts = isoTime(rec.time);
    if (ts !== undefined) put(out, rule.timestampKey, ts);
  }
  if (out.status == null) {
    const s = statusOf(record.code);
    if (s !== undefined) put(out, 'status', s);
  }
  if (rule.tagKey !== null) put(out, rule.tagKey, rec.tag);
  return out;
}

// delete first so an overwritten key moves to the end, as on the text path
function put(o: Record<string, unknown>, k: string, v: unknown): void {
  delete o[k];
  o[k] = v;
}

function shortTag(tag: string): string {
  const max = ROUTER_DEFAULTS.tagCharsShown;
  return tag.length <= max ? tag : `${tag.slice(0, max)}…`;
}

function statusOf(code: unknown): string | undefined {
  if (typeof code !== 'string' || !CODE_RE.test(code)) return undefined;
  return STATUS_BY_LETTER[code[code.length - 1]];
}

// Date#toISOString costs ~0.5 µs, a third of the whole route; events come in time order, so format the
// date once per day and the time of day by hand. two days are kept: a restamp formats the event's day and
// today's in turn. the memo is a pure function's cache, not state.
const DAY_MS = 86_400_000;
let memoDay = NaN;
let memoPrefix = '';
let memoDay2 = NaN;
let memoPrefix2 = '';

/** the same text as `new Date(ms).toISOString()`, or undefined where that would throw */
export function isoTime(ms: number): string | undefined {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return undefined;
  const t = Math.trunc(ms) + 0; // + 0 turns -0 into 0
  const day = Math.floor(t / DAY_MS);
  if (day !== memoDay) {
    const day2 = memoDay2;
    const prefix2 = memoPrefix2;
    memoDay2 = memoDay;
    memoPrefix2 = memoPrefix;
    if (day === day2) memoPrefix = prefix2;
    else {
      const iso = new Date(day * DAY_MS).toISOString();
      memoPrefix = iso.slice(0, iso.indexOf('T') + 1);
    }
    memoDay = day;
  }
  let r = t - day * DAY_MS;
  const h = Math.floor(r / 3_600_000);
  r -= h * 3_600_000;
  const m = Math.floor(r / 60_000);
  r -= m * 60_000;
  const sec = Math.floor(r / 1000);
  const milli = r - sec * 1000;
  return `${memoPrefix}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function stringify(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return toJson(v);
  }
}

// UTF-8 bytes >= UTF-16 length >= UTF-8 bytes / 3: only count bytes when the length cannot decide
function fits(json: string, max: number): boolean {
  if (json.length > max) return false;
  if (json.length * 3 <= max) return true;
  return Buffer.byteLength(json, 'utf8') <= max;
}

function compileRule(rule: MatchRule, i: number, defaultHostname: string): CompiledRule {
  const where = `router rule ${i + 1} (pattern "${rule.pattern}")`;
  let match: TagMatcher;
  try {
    match = compilePattern(rule.pattern);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  const enrich: Array<readonly [string, string]> = [];
  const add = (k: string, v: string | undefined): void => {
    if (v !== undefined && v !== '') enrich.push([k, v]);
  };
  add('ddsource', rule.source);
  add('ddsourcecategory', rule.sourceCategory);
  add('ddtags', rule.tags && rule.tags.length > 0 ? rule.tags.join(',') : undefined);
  add('service', rule.service);
  add('hostname', rule.hostname ?? defaultHostname);
  const compiled = finishRule(rule, match, enrich);
  const dynamic = [rule.service, rule.hostname, ...(rule.tags ?? [])].some(
    (v) => v !== undefined && PLACEHOLDER.test(v),
  );
  if (!dynamic) return compiled;
  return Object.freeze({ ...compiled, resolve: resolver(rule, compiled, defaultHostname) });
}

// a rule's service, tags and hostname may name record values as record_transformer does (`${record["k"]}`,
// `${tag_parts[1]}`...): expanded per record with ruby's to_s, a value that does not resolve as "". an empty
// service or hostname is not added (the record's own, or none, goes out), an empty tag is left out
const PLACEHOLDER = /\$\{[^}]+\}|__[A-Z_]+__/;

function resolver(rule: MatchRule, base: CompiledRule, defaultHostname: string): (rec: SourceRecord) => CompiledRule {
  const t = (v: string | undefined): Template | undefined =>
    v === undefined ? undefined : compileTemplate(v, false, false, false);
  const service = t(rule.service);
  const host = t(rule.hostname);
  const tags = (rule.tags ?? []).map((x) => t(x)!);
  const x = new Expansion();
  const at = (key: string) => base.enrich.findIndex(([k]) => k === key);
  return (rec) => {
    const p = { tag: rec.tag, time: rec.time, record: rec.record, hostname: defaultHostname };
    const enrich = base.enrich.slice();
    const put = (key: string, v: string | undefined) => {
      const i = at(key);
      if (i < 0) return;
      enrich[i] = [key, v ?? ''];
    };
    if (service) put('service', String(service.expand(p, x)));
    if (host) put('hostname', String(host.expand(p, x)));
    if (tags.length > 0)
      put(
        'ddtags',
        tags
          .map((tt) => String(tt.expand(p, x)).replace(/,/g, '_'))
          .filter((v) => v !== '')
          .join(','),
      );
    const kept = enrich.filter(([, v]) => v !== '');
    return {
      ...base,
      enrich: kept,
      enrichJson: kept.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`),
    };
  };
}

function finishRule(rule: MatchRule, match: TagMatcher, enrich: Array<readonly [string, string]>): CompiledRule {
  const timestampKey = rule.timestampKey ?? ROUTER_DEFAULTS.timestampKey;
  const tagKey = rule.includeTagKey ? (rule.tagKey ?? ROUTER_DEFAULTS.tagKey) : null;
  const keys = [...enrich.map(([k]) => k), 'status'];
  if (timestampKey !== '') keys.push(timestampKey);
  if (tagKey !== null) keys.push(tagKey);
  return Object.freeze({
    match,
    drop: rule.type === 'null',
    enrich,
    enrichJson: enrich.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`),
    timestampKey,
    timestampPrefix: `,${JSON.stringify(timestampKey)}:"`,
    tagKey,
    tagPrefix: tagKey === null ? '' : `,${JSON.stringify(tagKey)}:`,
    distinctKeys: new Set(keys).size === keys.length,
    restampText: new Set(keys).size === keys.length && !keys.includes(ROUTER_DEFAULTS.originalTimestampKey),
    keep: new Set([...keys, ...IDENTITY_KEYS]),
  });
}

function validateOptions(options: RouterOptions): RouterOptions {
  const fail = (msg: string): never => {
    throw new ConfigError(`router: ${msg}`);
  };
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  if (!Array.isArray(options.rules)) fail('rules must be an array of <match> rules');
  if (options.unmatched !== 'drop' && options.unmatched !== 'reject') {
    fail(`unmatched must be "drop" or "reject", got ${JSON.stringify(options.unmatched)}`);
  }
  if (typeof options.hostname !== 'string') fail('hostname must be a string');
  const max = options.maxLogBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < MIN_FIT_BYTES)) {
    fail(`maxLogBytes must be an integer of at least ${MIN_FIT_BYTES}, got ${String(max)}`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') fail('now must be a function');
  if (options.setTimer !== undefined && typeof options.setTimer !== 'function') fail('setTimer must be a function');
  if (options.logger !== undefined && typeof options.logger?.warn !== 'function')
    fail('logger must have a warn method');
  if (options.oldTimestamps !== undefined && !['restamp', 'keep', 'drop'].includes(options.oldTimestamps)) {
    fail(`oldTimestamps must be "restamp", "keep" or "drop", got ${JSON.stringify(options.oldTimestamps)}`);
  }
  if (options.maxAgeMs !== undefined && (!Number.isFinite(options.maxAgeMs) || options.maxAgeMs < 0)) {
    fail(`maxAgeMs must be a number of milliseconds >= 0, got ${String(options.maxAgeMs)}`);
  }

  options.rules.forEach((r, i) => {
    const at = `rule ${i + 1}`;
    if (typeof r !== 'object' || r === null) fail(`${at} must be an object`);
    if (typeof r.pattern !== 'string') fail(`${at}: pattern must be a string`);
    if (r.type !== 'datadog' && r.type !== 'null') {
      fail(`${at} (pattern "${r.pattern}"): type must be "datadog" or "null", got ${JSON.stringify(r.type)}`);
    }
    for (const k of ['source', 'sourceCategory', 'service', 'hostname'] as const) {
      if (r[k] !== undefined && typeof r[k] !== 'string') fail(`${at} (pattern "${r.pattern}"): ${k} must be a string`);
    }
    if (r.tags !== undefined) {
      if (!Array.isArray(r.tags)) fail(`${at} (pattern "${r.pattern}"): tags must be an array of strings`);
      for (const t of r.tags) {
        if (typeof t !== 'string' || t === '' || t.includes(',')) {
          fail(`${at} (pattern "${r.pattern}"): tags must be non-empty strings without ",", got ${JSON.stringify(t)}`);
        }
      }
    }
    if (r.includeTagKey !== undefined && typeof r.includeTagKey !== 'boolean') {
      fail(`${at} (pattern "${r.pattern}"): includeTagKey must be true or false`);
    }
    if (r.tagKey !== undefined) checkKey(r.tagKey, `${at} (pattern "${r.pattern}"): tagKey`, false, fail);
    if (r.timestampKey !== undefined) {
      checkKey(r.timestampKey, `${at} (pattern "${r.pattern}"): timestampKey`, true, fail);
    }
  });
  return options;
}

// a key that would hit Object.prototype (`constructor`, `__proto__`) reads as present on every record
function checkKey(k: unknown, what: string, emptyOk: boolean, fail: (msg: string) => never): void {
  if (typeof k !== 'string') fail(`${what} must be a string`);
  if (k === '' && !emptyOk) fail(`${what} must not be empty`);
  if ((k as string) in Object.prototype) fail(`${what} must not be ${JSON.stringify(k)}`);
  if (k === TRUNCATED_KEY) fail(`${what} must not be ${JSON.stringify(k)}: the forwarder uses it`);
}
