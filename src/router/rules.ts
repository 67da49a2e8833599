// compiles the <match> rules of the router: a tag matcher and, per rule, the keys it adds to a record, kept
// both as [key, value] pairs and as the JSON text the serializer appends. pure.

import { ConfigError } from '../errors.js';
import type { SourceRecord } from '../record.js';
import { compilePattern, type TagMatcher } from './pattern.js';
import { compileTemplate, Expansion, type Template } from '../filter/placeholders.js';
import { ROUTER_DEFAULTS } from './defaults.js';
import { matchDefault } from '../config/schema.js';

// the keys' defaults are the [[match]] table's (config/schema/tables.ts)
const TAG_KEY = matchDefault('tag-key') as string;
const TIMESTAMP_KEY = matchDefault('timestamp-key') as string;

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
  /** default: the [[match]] table's tag-key ('tag') */
  tagKey?: string;
  /** default: the table's timestamp-key ('@timestamp'; ISO 8601 UTC with ms from SourceRecord.time); '' = none */
  timestampKey?: string;
}

// what identifies a teleport event: kept longest when a record's values must be dropped to fit
const IDENTITY_KEYS = ['event', 'code', 'uid', 'id', 'time', 'ei', 'sid', 'user', 'cluster_name'];

export interface CompiledRule {
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

export function compileRule(rule: MatchRule, i: number, defaultHostname: string): CompiledRule {
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
  const timestampKey = rule.timestampKey ?? TIMESTAMP_KEY;
  const tagKey = rule.includeTagKey ? (rule.tagKey ?? TAG_KEY) : null;
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
