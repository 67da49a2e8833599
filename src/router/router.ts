// turns a SourceRecord into the JSON text of one Datadog HTTP log item, the way fluent-plugin-datadog does:
// the record's own keys go out as they are; ddsource, ddsourcecategory, ddtags, service, hostname and the
// timestamp are added only where absent (missing or null); include_tag_key overwrites record[tag_key].
// we add one thing fluentd does not: `status` from the last letter of a teleport event code (T1000W -> warn).
// rules are tried in order and the first match wins. pure apart from a rate-limited warning about
// unmatched tags. on the hot path the record is serialized once and the added keys are appended as text.
// the parts: rules.ts compiles the rules, serialize.ts writes a record as a log item, old-timestamps.ts is the
// policy for events past datadog's indexing window; this module runs them per record and keeps the counts.

import { ConfigError } from '../errors.js';
import type { Section } from '../config/sections.js';
import type { SourceRecord } from '../record.js';
import { MIN_FIT_BYTES, fitJson } from './truncate.js';
import { LogInterval } from '../log.js';
import { ROUTER_DEFAULTS } from './defaults.js';
import { compileRule, type CompiledRule, type MatchRule } from './rules.js';
import {
  appendable,
  buildItem,
  fits,
  isoTime,
  ORIGINAL_PREFIX,
  restamped,
  serializeFast,
  stringify,
} from './serialize.js';
import { createOldTimestamps } from './old-timestamps.js';

export { TRUNCATED_KEY, DROPPED_KEY } from './truncate.js';
export { ROUTER_DEFAULTS } from './defaults.js';
export { isoTime } from './serialize.js';
export type { MatchRule } from './rules.js';

/** the routing section of the config as it is (sections.ts), with what is not config */
export type RouterOptions = Section<'routing'> & {
  /** the `[[match]]` rules, checked by the config loader */
  rules: MatchRule[];
  hostname: string;
  /** bytes; default ROUTER_DEFAULTS.maxLogBytes (Datadog's per-log limit): not a setting, tests lower it */
  maxLogBytes?: number;
  /** for the warn rate limit and the age of events */
  now?: () => number;
  /**
   * runs fn once after ms (the end of an "old events" log interval) and returns its cancel. default: an unref'd
   * setTimeout, so the pending line never keeps the process alive (flush() logs it at stop)
   */
  setTimer?: (fn: () => void, ms: number) => () => void;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
};

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

export function createRouter(options: RouterOptions): Router {
  const o = checkOptions(options);
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
  const maxAgeMs = o.maxAgeMs;
  const oldPolicy = o.oldTimestamps;
  const oldTimestamps = createOldTimestamps({
    policy: oldPolicy,
    maxAgeMs,
    stats,
    now,
    setTimer: o.setTimer,
    info: o.logger?.info ? o.logger.info.bind(o.logger) : warn,
  });
  const old = oldTimestamps.apply;

  // a backfill restamps every event: the key goes onto the record's text instead of a copy of the record. the
  // copy (restamped) is made only where the text path gives way to the object path (null keys, too big)
  function sendRestamped(rule: CompiledRule, index: number, rec: SourceRecord, t: number): RouteResult {
    const record = rec.record;
    if (!rule.restampText || !appendable(record)) return send(rule, index, restamped(rec, t));
    let json = '';
    try {
      const original = ORIGINAL_PREFIX + stringify(isoTime(rec.time) ?? rec.time);
      json = serializeFast(rule, record, t, rec.tag, original, rec.text);
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
      json = rule.distinctKeys ? serializeFast(rule, record, rec.time, rec.tag, '', rec.text) : '';
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
        if (maxAgeMs > 0 && typeof rec.time === 'number') {
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
    flush: oldTimestamps.flush,
  };
}

function shortTag(tag: string): string {
  const max = ROUTER_DEFAULTS.tagCharsShown;
  return tag.length <= max ? tag : `${tag.slice(0, max)}…`;
}

// the config values (rules, unmatched, old-timestamps, max-age) were checked by the loader; what is checked here
// is not config
function checkOptions(options: RouterOptions): RouterOptions {
  const fail = (msg: string): never => {
    throw new ConfigError(`router: ${msg}`);
  };
  if (typeof options.hostname !== 'string') fail('hostname must be a string');
  const max = options.maxLogBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < MIN_FIT_BYTES)) {
    fail(`maxLogBytes must be an integer of at least ${MIN_FIT_BYTES}, got ${String(max)}`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') fail('now must be a function');
  if (options.setTimer !== undefined && typeof options.setTimer !== 'function') fail('setTimer must be a function');
  if (options.logger !== undefined && typeof options.logger?.warn !== 'function')
    fail('logger must have a warn method');
  return options;
}
