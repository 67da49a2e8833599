// the one schema of every setting: its key in the TOML file, its flag, its env vars, its type, its default and its
// doc. the loader, the CLI flags and docs/configuration.md are all derived from this table, so they cannot drift.
//
// keys are dotted paths into the TOML file ("ingest.port" is `port` under `[ingest]`). the flag is the key with
// dots turned into dashes (`--ingest-port`), the env var is TDF_ + the flag in upper snake case
// (`TDF_INGEST_PORT`). keys that teleport-event-handler also has keep its names, flags and env vars, so its
// teleport-event-handler.toml and its FDFWD_* (and misspelled FDWRD_*) variables work unchanged. the env names
// listed per key are exactly the handler's (it has none for dry-run, exit-on-last-event, concurrency, window-size).

export type ValueType = 'string' | 'path' | 'int' | 'bool' | 'duration' | 'bytes' | 'list' | 'enum' | 'time';

export interface Setting {
  key: string;
  type: ValueType;
  default?: unknown;
  doc: string;
  /** allowed values for enum */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** extra env vars, in order of precedence (first set wins), after TDF_* */
  env?: readonly string[];
  /** extra flag names (teleport-event-handler's spelling); never the key's own flag name (yargs would list it twice) */
  aliases?: readonly string[];
  /** extra TOML keys that mean the same (teleport-event-handler's spelling) */
  tomlAliases?: readonly string[];
  /** a secret: never echoed in errors or logs */
  secret?: boolean;
  /** one-letter flag */
  short?: string;
}

const MiB = 1024 * 1024;

export const SETTINGS: readonly Setting[] = [
  // general
  {
    key: 'storage',
    type: 'path',
    default: './storage',
    env: ['FDFWD_STORAGE'],
    doc: 'Directory of the LevelDB spool and the poller cursors. Keep it on a persistent volume: it holds every record until Datadog accepted it.',
  },
  {
    key: 'hostname',
    type: 'string',
    doc: "Datadog `hostname` for logs whose match rule sets none. Default: this machine's host name.",
  },
  {
    key: 'log-level',
    type: 'enum',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    doc: "Level of the forwarder's own logs (JSON lines on stdout).",
  },
  {
    key: 'debug',
    type: 'bool',
    default: false,
    short: 'd',
    env: ['FDFWD_DEBUG'],
    doc: 'Same as log-level = "debug" (teleport-event-handler\'s flag).',
  },
  {
    key: 'dry-run',
    type: 'bool',
    default: false,
    doc: 'Read and route events but ship and store nothing: log per batch what would be shipped or dropped, with a routed sample. The poller goes on from the stored cursors (read, then the storage is closed), or from now beside a running forwarder; no user is locked. The ingest answers 503 to what it would ship, since it keeps nothing.',
  },
  {
    key: 'exit-on-last-event',
    type: 'bool',
    default: false,
    doc: 'Exit 0 once the poller has caught up with the audit log and everything spooled was delivered; exit 1 if Teleport keeps refusing it (a role without the rules, an expired or untrusted identity) over 3 retries and at least 30 s, or refuses its session recordings.',
  },

  // http ingest (the fluentd endpoint)
  {
    key: 'ingest.enabled',
    type: 'bool',
    default: true,
    doc: 'Serve the Fluentd-compatible HTTPS endpoint for an existing teleport-event-handler. Needs ingest.ca, ingest.cert and ingest.key.',
  },
  { key: 'ingest.host', type: 'string', default: '0.0.0.0', doc: 'Address the ingest listens on.' },
  {
    key: 'ingest.port',
    type: 'int',
    default: 8888,
    min: 0,
    max: 65535,
    doc: "Port the ingest listens on (Fluentd's in_http default is 8888).",
  },
  {
    key: 'ingest.ca',
    type: 'path',
    doc: 'CA certificate (PEM) that client certificates must be signed by (`ca.crt` of `configure`).',
  },
  { key: 'ingest.cert', type: 'path', doc: 'Server certificate (PEM) (`server.crt`).' },
  { key: 'ingest.key', type: 'path', doc: 'Server private key (PEM), possibly encrypted (`server.key`).' },
  {
    key: 'ingest.key-passphrase',
    type: 'string',
    secret: true,
    doc: 'Passphrase of an encrypted ingest.key. Prefer ingest.key-passphrase-file or the env var TDF_INGEST_KEY_PASSPHRASE.',
  },
  { key: 'ingest.key-passphrase-file', type: 'path', doc: 'File holding the passphrase of ingest.key (mode 0600).' },
  {
    key: 'ingest.body-limit',
    type: 'bytes',
    default: 32 * MiB,
    min: 1024,
    doc: "Largest request body accepted; larger ones get 413 (Fluentd's body_size_limit).",
  },
  {
    key: 'ingest.max-decompressed',
    type: 'bytes',
    default: 64 * MiB,
    min: 1024,
    doc: 'Largest size a gzip/deflate body may inflate to; larger ones get 413.',
  },
  {
    key: 'ingest.request-timeout',
    type: 'duration',
    default: 60_000,
    doc: 'Time a client has to send a whole request; a stalled client is cut off after it (and can never hold up shutdown).',
  },
  {
    key: 'ingest.max-records',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    doc: 'Most records one request may carry (a JSON array, ndjson, msgpack stream); more get 413. It also bounds the JSON or msgpack values of one request to 200 a record (at least 100,000). Both are checked before the body is parsed. teleport-event-handler sends one record per request.',
  },
  {
    key: 'ingest.ack',
    type: 'enum',
    default: 'fsync',
    values: ['fsync', 'written'],
    doc: "When a POST is answered 200. `fsync`: once its records' group commit is synced to disk, so nothing acknowledged is lost even to a power cut. `written`: once they are in LevelDB's log in the operating system: they survive a crash or kill -9 of the forwarder, not an os crash or power cut within ingest.sync-interval (a background sync makes them durable then); about 3x faster for one client posting one event at a time. For comparison, Fluentd's file buffer never syncs, Vector's disk buffer syncs every 500 ms.",
  },
  {
    key: 'ingest.sync-interval',
    type: 'duration',
    default: 100,
    min: 1,
    max: 10_000,
    doc: 'With ingest.ack = written: records acknowledged without fsync are synced to disk at most this long after they were written (the window an os crash or power cut could take them in).',
  },
  {
    key: 'ingest.retry-after',
    type: 'duration',
    default: 5000,
    doc: 'Retry-After sent with 503 when the spool is full.',
  },

  // datadog sink
  {
    key: 'datadog.site',
    type: 'string',
    default: 'datadoghq.com',
    env: ['DD_SITE'],
    doc: 'Datadog site: datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com, ap2.datadoghq.com, uk1.datadoghq.com, ddog-gov.com, us2.ddog-gov.com.',
  },
  {
    key: 'datadog.url',
    type: 'string',
    env: ['DD_LOGS_INTAKE_URL'],
    doc: 'Explicit logs intake base URL (a proxy, or a local intake for tests); overrides datadog.site.',
  },
  {
    key: 'datadog.api-key',
    type: 'string',
    secret: true,
    env: ['DD_API_KEY'],
    doc: 'Datadog API key. Prefer the DD_API_KEY env var or datadog.api-key-file to writing it in a config file.',
  },
  { key: 'datadog.api-key-file', type: 'path', doc: 'File holding the Datadog API key (mode 0600).' },
  {
    key: 'datadog.concurrency',
    type: 'int',
    default: 4,
    min: 1,
    max: 64,
    doc: 'Requests to Datadog in flight at once.',
  },
  {
    key: 'datadog.batch-max-entries',
    type: 'int',
    default: 1000,
    min: 1,
    max: 1000,
    doc: 'Logs per request (Datadog allows 1000).',
  },
  {
    key: 'datadog.batch-max-bytes',
    type: 'bytes',
    default: 4_900_000,
    min: 1_100_000,
    max: 4_999_000,
    doc: 'Uncompressed bytes per request (Datadog allows 5 MB).',
  },
  {
    key: 'datadog.batch-wait',
    type: 'duration',
    default: 200,
    doc: 'After sending a batch under half full, wait this long before the next, so requests carry many logs (fewer requests, less CPU). A backlog is never delayed. "0" sends at once.',
  },
  { key: 'datadog.timeout', type: 'duration', default: 30_000, doc: 'Time allowed for one request to Datadog.' },
  {
    key: 'datadog.compression',
    type: 'enum',
    default: 'gzip',
    values: ['gzip', 'deflate', 'none'],
    doc: 'Content-Encoding of requests to Datadog.',
  },
  { key: 'datadog.compression-level', type: 'int', default: 6, min: 1, max: 9, doc: 'zlib compression level.' },
  {
    key: 'datadog.retry-initial',
    type: 'duration',
    default: 500,
    doc: 'First back-off after a 408, 429, 5xx or network error; it doubles (with full jitter) up to datadog.retry-max. Rate-limit headers take precedence.',
  },
  {
    key: 'datadog.retry-max',
    type: 'duration',
    default: 60_000,
    doc: 'Longest back-off between two tries of a batch.',
  },
  {
    key: 'datadog.auth-retry',
    type: 'duration',
    default: 30_000,
    doc: 'While Datadog refuses the API key (401/403), delivery is held and retried every auth-retry to twice that; nothing is dropped.',
  },
  {
    key: 'datadog.ca-file',
    type: 'path',
    doc: 'Extra CA certificate to trust for the intake (a TLS-intercepting proxy). Verification stays on.',
  },

  // admin http server: metrics, health, status
  {
    key: 'admin.enabled',
    type: 'bool',
    default: true,
    doc: 'Serve /metrics (Prometheus), /healthz, /readyz and /status over plain HTTP.',
  },
  {
    key: 'admin.host',
    type: 'string',
    default: '127.0.0.1',
    doc: 'Address of the admin server (loopback by default: it has no authentication).',
  },
  { key: 'admin.port', type: 'int', default: 8889, min: 0, max: 65535, doc: 'Port of the admin server.' },

  // spool
  {
    key: 'spool.max-bytes',
    type: 'bytes',
    default: 1024 * MiB,
    min: 1 * MiB,
    doc: 'Bound on queued bytes. When reached, ingest answers 503 + Retry-After and the poller waits: nothing is dropped.',
  },

  // runtime
  {
    key: 'runtime.heap-growing-percent',
    type: 'int',
    default: 100,
    min: 0,
    max: 1000,
    doc: "How far V8 lets the heap grow past what survived the last full collection, in percent: lower keeps memory down at some cpu cost (and, below ~75, at some latency: more full collections). It replaces V8's own factors (adaptive, up to 4x when allocation is fast; 0 keeps them). Not a heap cap: a burst still gets the memory it needs. node's own --heap-growing-percent wins.",
  },

  // routing
  {
    key: 'routing.unmatched',
    type: 'enum',
    default: 'drop',
    values: ['drop', 'reject'],
    doc: 'Records no match rule matches: `drop` counts them and warns (rate limited), like Fluentd; `reject` answers the HTTP client 400.',
  },
  {
    key: 'routing.old-timestamps',
    type: 'enum',
    default: 'restamp',
    values: ['restamp', 'keep', 'drop'],
    doc: 'Events older than routing.max-age (Datadog does not index logs over 18 h old as current): `restamp` sends them stamped now with the original time kept in `original_timestamp`; `keep` sends them as they are; `drop` drops them. Counts are logged.',
  },
  {
    key: 'routing.max-age',
    type: 'duration',
    default: 17 * 3600_000,
    doc: "Age past which routing.old-timestamps applies (a margin under Datadog's 18 h).",
  },

  // teleport poller (teleport-event-handler's flags and TOML keys)
  {
    key: 'teleport.enabled',
    type: 'bool',
    default: false,
    doc: 'Poll the Teleport Auth Service for audit events and session recordings (on by default when teleport.addr and credentials are set).',
  },
  {
    key: 'teleport.addr',
    type: 'string',
    default: 'localhost:3025',
    env: ['FDFWD_TELEPORT_ADDR'],
    doc: 'Teleport Auth Service (host:port) or Proxy with TLS routing.',
  },
  {
    key: 'teleport.identity',
    type: 'path',
    env: ['FDFWD_TELEPORT_IDENTITY'],
    doc: 'Identity file (`tctl auth sign --format=file` or tbot output).',
  },
  {
    key: 'teleport.refresh.enabled',
    type: 'bool',
    default: false,
    env: ['FDFWD_TELEPORT_REFRESH_ENABLED'],
    doc: 'Re-read the identity file on an interval (tbot renews it) without a restart. An identity already expired at start is then waited for (the poller fails in status until the file is renewed) instead of exiting 2.',
  },
  {
    key: 'teleport.refresh.interval',
    type: 'duration',
    default: 60_000,
    env: ['FDFWD_TELEPORT_REFRESH_INTERVAL'],
    doc: 'How often to re-read the identity file.',
  },
  {
    key: 'teleport.ca',
    type: 'path',
    env: ['FDFWD_TELEPORT_CA'],
    doc: 'Teleport TLS CA (with teleport.cert and teleport.key, instead of an identity file).',
  },
  {
    key: 'teleport.cert',
    type: 'path',
    env: ['FDWRD_TELEPORT_CERT', 'FDFWD_TELEPORT_CERT'],
    doc: 'Teleport client certificate.',
  },
  { key: 'teleport.key', type: 'path', env: ['FDFWD_TELEPORT_KEY'], doc: 'Teleport client private key.' },
  {
    key: 'teleport.server-name',
    type: 'string',
    default: 'teleport.cluster.local',
    doc: 'TLS server name of the Auth Service.',
  },
  {
    key: 'teleport.mode',
    type: 'enum',
    default: 'auto',
    values: ['auto', 'direct', 'proxy'],
    doc: 'How teleport.addr is reached: `direct` to the Auth Service, `proxy` through a Proxy with TLS routing (ALPN `teleport-auth@…`), `auto` picks proxy when the port is 443 or 3080 and direct otherwise (a Proxy on another port needs `proxy`).',
  },
  {
    key: 'teleport.cluster-name',
    type: 'string',
    doc: "Cluster name for the proxy route; unset, it is read from the identity's certificate (its issuer, the cluster's user CA).",
  },
  {
    key: 'start-time',
    type: 'time',
    env: ['FDFWD_START_TIME'],
    doc: 'Export events from this time (RFC 3339). Unset, the poller starts at the time of its first run; `backfill --from --to` ships older ranges later. Stored on first run; a different value later is an error once anything was exported (before that it replaces the stored one): move it with `cursor set --start-time`.',
  },
  {
    key: 'batch',
    type: 'int',
    default: 20,
    min: 1,
    max: 10000,
    env: ['FDFWD_BATCH'],
    doc: 'Events per page of the legacy search API.',
  },
  { key: 'window-size', type: 'duration', default: 24 * 3600_000, doc: 'Time window of one legacy search.' },
  {
    key: 'types',
    type: 'list',
    default: [],
    env: ['FDFWD_TYPES'],
    doc: 'Event types to export (empty: all). A list without `session.upload` also ships no session recordings (see skip-event-types).',
  },
  {
    key: 'skip-event-types',
    type: 'list',
    default: [],
    env: ['FDFWD_SKIP_EVENT_TYPES'],
    doc: 'Event types not to ship. `session.upload` here also turns off every session recording: its upload event is what starts a recording\'s stream (teleport-event-handler does the same). To drop recordings but keep the upload events, route `session.*.log` to type = "null" instead.',
  },
  {
    key: 'skip-session-types',
    type: 'list',
    default: ['print'],
    env: ['FDFWD_SKIP_SESSION_TYPES'],
    doc: 'Session recording event types not to ship. `[]` ships them all, prints (terminal output) included; in an env var write `[]` too (an empty env var counts as unset and keeps the default).',
  },
  {
    key: 'concurrency',
    type: 'int',
    default: 5,
    min: 1,
    max: 256,
    doc: 'Session recordings (and export chunks) read at once.',
  },
  {
    key: 'timeout',
    type: 'duration',
    default: 5000,
    env: ['FDFWD_TIMEOUT'],
    doc: 'Deadline of one unary call to Teleport.',
  },
  { key: 'poll-interval', type: 'duration', default: 16_000, doc: 'Pause between polls once caught up.' },
  {
    key: 'stream-idle-timeout',
    type: 'duration',
    default: 300_000,
    doc: 'An export or session-recording stream that sends nothing for this long (a stalled server or proxy, the connection still up) is cancelled and retried from its saved cursor. Before its first message a stream gets 4 times as long (the Auth Service may download a whole recording first).',
  },
  {
    key: 'events-tag',
    type: 'string',
    default: 'events.log',
    doc: "Tag of polled audit events (the Go handler's url path; taken from forward.fluentd.url when that is set).",
  },
  {
    key: 'session-tag-prefix',
    type: 'string',
    default: 'session',
    doc: 'Polled session events are tagged `<prefix>.<sid>.log` (from forward.fluentd.session-url when that is set).',
  },
  {
    key: 'lock.enabled',
    type: 'bool',
    default: false,
    tomlAliases: ['lock-enabled'],
    env: ['FDFWD_LOCKING_ENABLED'],
    doc: 'Lock users after repeated failed logins.',
  },
  {
    key: 'lock.failed-attempts-count',
    type: 'int',
    default: 3,
    min: 1,
    tomlAliases: ['lock-failed-attempts-count'],
    env: ['FDFWD_LOCKING_FAILED_ATTEMPTS'],
    doc: 'Failed logins within lock.period that lock a user: the user is locked at the N-th. (teleport-event-handler locks only at failure N+1, so the same setting locks one attempt sooner here.)',
  },
  {
    key: 'lock.period',
    type: 'duration',
    default: 60_000,
    tomlAliases: ['lock-period'],
    env: ['FDFWD_LOCKING_PERIOD'],
    doc: 'Window in which failed logins are counted.',
  },
  {
    key: 'lock.for',
    type: 'duration',
    default: 0,
    tomlAliases: ['lock-for'],
    env: ['FDFWD_LOCKING_FOR'],
    doc: 'How long a lock lasts; 0 = until removed.',
  },

  // teleport-event-handler's fluentd client settings: read so its toml loads; url paths give our tags
  {
    key: 'forward.fluentd.url',
    type: 'string',
    aliases: ['fluentd-url'],
    env: ['FDFWD_FLUENTD_URL'],
    doc: "teleport-event-handler's Fluentd URL; its path sets events-tag (`/test.log` -> `test.log`).",
  },
  {
    key: 'forward.fluentd.session-url',
    type: 'string',
    aliases: ['fluentd-session-url'],
    env: ['FDFWD_FLUENTD_SESSION_URL'],
    doc: "teleport-event-handler's session URL; its path sets session-tag-prefix.",
  },
  {
    key: 'forward.fluentd.ca',
    type: 'path',
    aliases: ['fluentd-ca'],
    env: ['FDWRD_FLUENTD_CA', 'FDFWD_FLUENTD_CA'],
    doc: 'Accepted for compatibility; not used (the built-in poller posts nowhere).',
  },
  {
    key: 'forward.fluentd.cert',
    type: 'path',
    aliases: ['fluentd-cert'],
    env: ['FDWRD_FLUENTD_CERT', 'FDFWD_FLUENTD_CERT'],
    doc: 'Accepted for compatibility; not used.',
  },
  {
    key: 'forward.fluentd.key',
    type: 'path',
    aliases: ['fluentd-key'],
    env: ['FDWRD_FLUENTD_KEY', 'FDFWD_FLUENTD_KEY'],
    doc: 'Accepted for compatibility; not used.',
  },
  {
    key: 'forward.fluentd.max-connections',
    type: 'int',
    aliases: ['fluentd-max-connections'],
    env: ['FDWRD_MAX_CONNECTIONS'],
    min: 1,
    doc: 'Accepted for compatibility; not used.',
  },
];

/**
 * top-level keys that older teleport-event-handler files may hold but the handler no longer reads (they are not in
 * its current config), with why they do nothing here: the loader ignores them with a warning instead of refusing
 * the file, and migrate leaves them out with a note
 */
export const OBSOLETE_KEYS: Readonly<Record<string, string>> = {
  namespace: 'Teleport has one audit event namespace, "default", and the poller always reads it',
  cursor:
    'the poller keeps its own cursors in storage and does not take one from the config; use start-time to choose where it starts',
};

/** why an obsolete key is ignored, or undefined when the key is not one (own keys only: not "constructor") */
export function obsoleteKey(key: string): string | undefined {
  return Object.hasOwn(OBSOLETE_KEYS, key) ? OBSOLETE_KEYS[key] : undefined;
}

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

export function envName(key: string): string {
  return 'TDF_' + key.replace(/[.-]/g, '_').toUpperCase();
}

export function flagName(key: string): string {
  return key.replace(/\./g, '-');
}
