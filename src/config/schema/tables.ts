// the keys of `[[match]]` and `[[filter]]` tables, and the rules used when a config has none

/** keys of one `[[match]]` table */
export interface MatchSetting {
  key: string;
  type: 'string' | 'bool' | 'list' | 'enum';
  values?: readonly string[];
  default?: unknown;
  doc: string;
}

export const MATCH_SETTINGS: readonly MatchSetting[] = [
  {
    key: 'pattern',
    type: 'string',
    doc: 'Fluentd tag patterns, space separated: `*`, `**`, `{a,b}`, `/regex/`. Required.',
  },
  {
    key: 'type',
    type: 'enum',
    values: ['datadog', 'null'],
    default: 'datadog',
    doc: '`datadog` ships the record; `null` drops it on purpose.',
  },
  { key: 'source', type: 'string', doc: '`ddsource` of the log (e.g. "teleport").' },
  { key: 'source-category', type: 'string', doc: '`ddsourcecategory`.' },
  {
    key: 'service',
    type: 'string',
    doc: '`service`. May name record values with the placeholders of record_transformer (`${record["k"]}`, `${tag_parts[N]}`).',
  },
  {
    key: 'tags',
    type: 'list',
    doc: '`ddtags`, e.g. `["env:prod", \'teleport_cluster:${record["cluster_name"]}\']`; placeholders as for service, a tag that expands to "" is left out.',
  },
  {
    key: 'hostname',
    type: 'string',
    doc: '`hostname` (default: the top-level hostname); placeholders as for service, "" leaves it out.',
  },
  { key: 'include-tag-key', type: 'bool', default: false, doc: "Add the record's tag as an attribute." },
  { key: 'tag-key', type: 'string', default: 'tag', doc: 'Attribute name for include-tag-key.' },
  {
    key: 'timestamp-key',
    type: 'string',
    default: '@timestamp',
    doc: 'Attribute that gets the event time (ISO 8601); "" for none.',
  },
];

/** a `[[match]]` key's default: the router and the loader read it here rather than keep a copy */
export function matchDefault(key: 'type' | 'include-tag-key' | 'tag-key' | 'timestamp-key'): string | boolean {
  return MATCH_SETTINGS.find((m) => m.key === key)!.default as string | boolean;
}

/** keys of one `[[filter]]` table; `types` says which filter types read the key */
export interface FilterSetting {
  key: string;
  type: 'string' | 'bool' | 'list' | 'enum' | 'table' | 'tables' | 'path';
  types: ReadonlyArray<'grep' | 'record_transformer' | 'redact'>;
  values?: readonly string[];
  default?: unknown;
  doc: string;
}

export const FILTER_SETTINGS: readonly FilterSetting[] = [
  {
    key: 'pattern',
    type: 'string',
    types: ['grep', 'record_transformer', 'redact'],
    default: '**',
    doc: 'Fluentd tag patterns, space separated, as in `<filter pattern>`.',
  },
  {
    key: 'unless-pattern',
    type: 'string',
    types: ['grep', 'record_transformer', 'redact'],
    doc: 'Tags the filter skips even when `pattern` matches them. `migrate` writes the patterns of the `<match>`es placed before the `<filter>` in fluent.conf: Fluentd never runs a filter on the records an earlier `<match>` took.',
  },
  {
    key: 'type',
    type: 'enum',
    types: ['grep', 'record_transformer', 'redact'],
    values: ['grep', 'record_transformer', 'redact'],
    doc: "`grep` and `record_transformer` behave as Fluentd 1.15's; `redact` replaces or pseudonymises values. Required.",
  },
  {
    key: 'regexp',
    type: 'tables',
    types: ['grep'],
    doc: '`[[filter.regexp]]` with `key` (a field, or a record accessor path like `$.server_labels.env`) and `pattern` (`^user\\.` or `/…/i`): the value (as Ruby\'s `to_s`; a missing key is "") must match. Several: all must match.',
  },
  {
    key: 'exclude',
    type: 'tables',
    types: ['grep'],
    doc: '`[[filter.exclude]]`, `key` and `pattern`: the record is dropped when the value matches. Several: any match drops.',
  },
  {
    key: 'and',
    type: 'tables',
    types: ['grep'],
    doc: "`[[filter.and]]` holding `[[filter.and.regexp]]` (all must match) or `[[filter.and.exclude]]` (dropped when all match), not both: Fluentd's `<and>`.",
  },
  {
    key: 'or',
    type: 'tables',
    types: ['grep'],
    doc: "`[[filter.or]]` holding `[[filter.or.regexp]]` (one must match) or `[[filter.or.exclude]]` (any match drops), not both: Fluentd's `<or>`.",
  },
  {
    key: 'record',
    type: 'table',
    types: ['record_transformer'],
    doc: '`[filter.record]`: keys to set. Strings may hold `${tag}`, `${tag_parts[N]}`, `${tag_prefix[N]}`, `${tag_suffix[N]}` (N may be negative), `${hostname}`, `${time}`, `${record["key"]}`; one that does not resolve is empty (null when it is the whole value and auto-typecast is on).',
  },
  {
    key: 'remove-keys',
    type: 'list',
    types: ['record_transformer'],
    doc: 'Keys to remove after `record` is applied; record accessor paths (`$.addr.remote`) remove nested keys.',
  },
  {
    key: 'keep-keys',
    type: 'list',
    types: ['record_transformer'],
    doc: 'Top-level keys kept from the record when renew-record is true (Fluentd refuses it otherwise).',
  },
  {
    key: 'renew-record',
    type: 'bool',
    types: ['record_transformer'],
    default: false,
    doc: 'Start from an empty record (plus keep-keys) instead of the record.',
  },
  {
    key: 'renew-time-key',
    type: 'string',
    types: ['record_transformer'],
    doc: 'A key whose value (Unix seconds) becomes the event time, when the result has it.',
  },
  {
    key: 'enable-ruby',
    type: 'bool',
    types: ['record_transformer'],
    default: false,
    doc: 'Read `${…}` as Fluentd\'s Ruby placeholders, record access only (`record["a"]["b"]`, `record.dig("a", "b")`, `tag_parts[-1]`); Ruby is never evaluated and any other expression is refused at start.',
  },
  {
    key: 'auto-typecast',
    type: 'bool',
    types: ['record_transformer'],
    default: true,
    doc: 'A value that is one placeholder alone keeps the type of what it names (a number stays a number).',
  },
  {
    key: 'keys',
    type: 'list',
    types: ['redact'],
    doc: 'Fields to redact: keys or record accessor paths. A missing one is left missing.',
  },
  {
    key: 'mode',
    type: 'enum',
    types: ['redact'],
    values: ['replace', 'hmac'],
    default: 'replace',
    doc: '`replace` writes `replacement`; `hmac` writes `hmac:` and 32 hex digits of HMAC-SHA-256 of the value, so one value always maps to one token.',
  },
  {
    key: 'replacement',
    type: 'string',
    types: ['redact'],
    default: '[REDACTED]',
    doc: 'The text written instead of the value (mode `replace`).',
  },
  {
    key: 'key-file',
    type: 'path',
    types: ['redact'],
    doc: 'A file holding the HMAC key (mode `hmac`; at least 16 bytes); read at start, never logged.',
  },
];

/**
 * the rules used when a config has no [[match]] table: every tag to Datadog as source teleport, with the tag in
 * `tag` so audit events (`events.log`) and session recordings (`session.<sid>.log`) can be told apart
 */
export const DEFAULT_MATCH = [
  { pattern: '**', type: 'datadog', source: 'teleport', service: 'teleport', includeTagKey: true },
] as const;
