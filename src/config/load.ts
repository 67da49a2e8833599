// loads the configuration once at start: defaults < TOML file < env vars < flags. every value is validated
// against the schema; an error names where the bad value came from (file and key, env var, or flag) and what
// was expected. the result is frozen.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostname as osHostname } from 'node:os';
import { parse as parseToml } from 'smol-toml';
import { ConfigError } from '../errors.js';
import { SETTINGS, MATCH_SETTINGS, DEFAULT_MATCH, obsoleteKey, envName, flagName, type Setting } from './schema.js';
import {
  parseBool,
  parseBytes,
  parseDuration,
  parseInt10,
  parseList,
  parseTime,
  closest,
  tomlErrorMessage,
} from './values.js';
import type { MatchRule } from '../router/router.js';
import { looksLikeFluentConf } from './fluentd/parser.js';
import { readFluentConf } from './fluentd/file.js';
import type { MigrationNote } from './fluentd/migrate.js';
import type { FilterSpec } from '../filter/chain.js';
import { parseFilterTables } from './filters.js';
import { flatten } from './flatten.js';
import { parseIntakeUrl, parseSite } from '../sinks/datadog/site.js';
import { TIMESTAMP_WINDOW_MS } from '../sinks/datadog/limits.js';

/** something the loader accepted but the user should hear about: an ignored key, a setting that has no effect */
export interface ConfigNote {
  level: 'warn' | 'info';
  /** where it came from: `<file>: key "x"`, `environment variable X`, `flag --x` */
  where: string;
  message: string;
}

export interface Config {
  /** absolute path of the config file, if any */
  file: string | null;
  /** when the file is a fluent.conf: what of it was not carried over */
  fluentNotes: MigrationNote[];
  /** warnings about the config itself (ignored obsolete keys, settings without effect); start logs them */
  notes: ConfigNote[];
  /** where each setting that was given came from: `<file>: key "x"`, `environment variable X`, `flag --x` */
  origins: Readonly<Record<string, string>>;
  storage: string;
  hostname: string;
  logLevel: string;
  dryRun: boolean;
  exitOnLastEvent: boolean;
  ingest: {
    enabled: boolean;
    host: string;
    port: number;
    ca?: string;
    cert?: string;
    key?: string;
    keyPassphrase?: string;
    /** absolute path of the file keyPassphrase was read from; unset when it was given inline (or not at all) */
    keyPassphraseFile?: string;
    bodyLimit: number;
    maxDecompressed: number;
    retryAfterMs: number;
    requestTimeoutMs: number;
    maxRecords: number;
    /** fsync: 200 once synced; written: 200 once in leveldb's log in the os, synced within syncIntervalMs */
    ack: 'fsync' | 'written';
    syncIntervalMs: number;
  };
  datadog: {
    site: string;
    url?: string;
    apiKey?: string;
    /** where the key came from, for messages (never the key itself) */
    apiKeyOrigin?: string;
    /** absolute path of the file apiKey was read from; unset when the key was given inline (or not at all) */
    apiKeyFile?: string;
    concurrency: number;
    batchMaxEntries: number;
    batchMaxBytes: number;
    timeoutMs: number;
    compression: 'gzip' | 'deflate' | 'none';
    compressionLevel: number;
    caFile?: string;
    retryInitialMs: number;
    retryMaxMs: number;
    authRetryMs: number;
    batchWaitMs: number;
  };
  spool: { maxBytes: number };
  runtime: { heapGrowingPercent: number };
  admin: { enabled: boolean; host: string; port: number };
  routing: {
    unmatched: 'drop' | 'reject';
    oldTimestamps: 'restamp' | 'keep' | 'drop';
    maxAgeMs: number;
    rules: MatchRule[];
  };
  /** `[[filter]]` tables (or fluent.conf's <filter> sections), in order: applied before the match rules */
  filters: FilterSpec[];
  teleport: {
    enabled: boolean;
    addr: string;
    identity?: string;
    refreshEnabled: boolean;
    refreshIntervalMs: number;
    ca?: string;
    cert?: string;
    key?: string;
    serverName: string;
    mode: 'auto' | 'direct' | 'proxy';
    clusterName?: string;
    startTime?: Date;
    batch: number;
    windowSizeMs: number;
    types: string[];
    skipEventTypes: string[];
    skipSessionTypes: string[];
    concurrency: number;
    timeoutMs: number;
    pollIntervalMs: number;
    streamIdleMs: number;
    eventsTag: string;
    sessionTagPrefix: string;
    lock: { enabled: boolean; failedAttemptsCount: number; periodMs: number; forMs: number };
  };
}

export interface LoadInput {
  /** config file path (TOML); also taken from TDF_CONFIG / FDFWD_CONFIG when absent */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** flags given on the command line, by flag name (only those the user gave) */
  flags?: Record<string, unknown>;
  /** skip checks that need a full runtime config (api key, sources), for commands like `check` and `docs` */
  partial?: boolean;
  cwd?: string;
}

type Origin = { where: string; base: string };

const BY_KEY = new Map<string, Setting>();
const BY_ALIAS = new Map<string, Setting>();
for (const s of SETTINGS) {
  BY_KEY.set(s.key, s);
  for (const a of s.aliases ?? []) BY_ALIAS.set(a, s);
  for (const a of s.tomlAliases ?? []) BY_ALIAS.set(a, s);
}

export function loadConfig(input: LoadInput = {}): Readonly<Config> {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const raw = new Map<string, { value: unknown; origin: Origin }>();
  let matchTables: unknown[] | undefined;
  let filters: FilterSpec[] = [];
  let fluentNotes: MigrationNote[] = [];
  let fromFluentConf = false;
  const notes: ConfigNote[] = [];

  const file = input.file ?? env.TDF_CONFIG ?? env.FDFWD_CONFIG;
  const filePath = file ? resolve(cwd, file) : null;
  if (filePath) {
    const fluent = isFluentConf(filePath) ? readFluentConf(filePath, env) : undefined;
    const doc = fluent ? (parseToml(fluent.toml) as Record<string, unknown>) : readToml(filePath);
    fluentNotes = fluent?.notes ?? [];
    fromFluentConf = fluent !== undefined;
    const base = dirname(filePath);
    if (fluent?.apiKey)
      raw.set('datadog.api-key', { value: fluent.apiKey, origin: { where: `${filePath}: api_key`, base } });
    if (fluent?.keyPassphrase)
      raw.set('ingest.key-passphrase', {
        value: fluent.keyPassphrase,
        origin: { where: `${filePath}: private_key_passphrase`, base },
      });
    for (const [key, value] of flatten(doc)) {
      if (key === 'match') {
        if (!Array.isArray(value)) throw new ConfigError(`${filePath}: key "match": expected [[match]] tables`);
        matchTables = value;
        continue;
      }
      if (key === 'filter') {
        if (!Array.isArray(value)) throw new ConfigError(`${filePath}: key "filter": expected [[filter]] tables`);
        const unknown: Array<{ where: string; message: string }> = [];
        filters = parseFilterTables(value, filePath, base, unknown);
        for (const n of unknown) notes.push({ level: 'warn', ...n });
        continue;
      }
      const setting = BY_KEY.get(key) ?? BY_ALIAS.get(key);
      const obsolete = setting ? undefined : obsoleteKey(key);
      if (obsolete) {
        // older teleport-event-handler files: refusing them would stop a migration over a key with no effect
        notes.push({
          level: 'warn',
          where: `${filePath}: key "${key}"`,
          message: `an obsolete teleport-event-handler key, ignored: ${obsolete}`,
        });
        continue;
      }
      if (!setting) {
        const hint = closest(key, [...BY_KEY.keys(), 'match', 'filter']);
        throw new ConfigError(`${filePath}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
      const o = { where: `${filePath}: key "${setting.key}"`, base };
      parseSetting(setting, value, o); // a bad value in the file is an error even when an env var or flag overrides it
      raw.set(setting.key, { value, origin: o });
    }
  }

  for (const s of SETTINGS) {
    for (const name of [envName(s.key), ...(s.env ?? [])]) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        raw.set(s.key, { value: v, origin: { where: `environment variable ${name}`, base: cwd } });
        break;
      }
    }
  }

  for (const [name, value] of Object.entries(input.flags ?? {})) {
    if (value === undefined) continue;
    const setting = BY_KEY.get(name.replace(/-/g, '.')) ?? settingByFlag(name) ?? BY_ALIAS.get(name);
    if (!setting) continue; // not a setting (e.g. --config): the cli handles it
    raw.set(setting.key, { value, origin: { where: `flag --${name}`, base: cwd } });
  }

  const get = (key: string): unknown => {
    const s = BY_KEY.get(key);
    if (!s) throw new Error(`bug: no setting ${key}`);
    const r = raw.get(key);
    if (!r) return s.default;
    return parseSetting(s, r.value, r.origin);
  };
  const origin = (key: string) => raw.get(key)?.origin;
  const path = (key: string): string | undefined => {
    const v = get(key) as string | undefined;
    if (v === undefined || v === '') return undefined;
    return resolve(origin(key)?.base ?? cwd, v);
  };

  const logLevel = get('debug') ? 'debug' : (get('log-level') as string);
  const rules = matchTables
    ? parseMatchTables(matchTables, filePath!)
    : (DEFAULT_MATCH.map((m) => ({ ...m })) as MatchRule[]);

  // teleport-event-handler's fluentd urls carry the tags its requests would have had
  let eventsTag = get('events-tag') as string;
  let sessionTagPrefix = get('session-tag-prefix') as string;
  const fluentdUrl = get('forward.fluentd.url') as string | undefined;
  if (fluentdUrl && !raw.has('events-tag')) eventsTag = tagFromUrl(fluentdUrl, origin('forward.fluentd.url')!);
  const sessionUrl = get('forward.fluentd.session-url') as string | undefined;
  if (sessionUrl && !raw.has('session-tag-prefix'))
    sessionTagPrefix = tagFromUrl(sessionUrl, origin('forward.fluentd.session-url')!);

  // where a key's value came from, for messages: `<file>: key "x"`, `environment variable X`, `flag --x`
  const whereOf = (key: string): string => origin(key)?.where ?? `key "${key}"`;
  const setKeys = (keys: string[]): string => keys.map((k) => (origin(k) ? `${k} (${whereOf(k)})` : k)).join(', ');

  const ingestFiles = { ca: path('ingest.ca'), cert: path('ingest.cert'), key: path('ingest.key') };
  const ingestExplicit = raw.has('ingest.enabled');
  const ingestEnabled = ingestExplicit
    ? (get('ingest.enabled') as boolean)
    : Boolean(ingestFiles.ca || ingestFiles.cert || ingestFiles.key);
  if (ingestEnabled && !input.partial) {
    const why = ingestExplicit
      ? `ingest.enabled is true (${whereOf('ingest.enabled')})`
      : `set: ${setKeys((['ca', 'cert', 'key'] as const).filter((k) => ingestFiles[k]).map((k) => 'ingest.' + k))}`;
    for (const k of ['ca', 'cert', 'key'] as const) {
      if (!ingestFiles[k]) {
        throw new ConfigError(
          `${where(filePath)}key "ingest.${k}" is required when the ingest is enabled (${why}): set it (flag --ingest-${k}, env ${envName('ingest.' + k)}) or set ingest.enabled = false`,
        );
      }
    }
  }

  const tp = {
    identity: path('teleport.identity'),
    ca: path('teleport.ca'),
    cert: path('teleport.cert'),
    key: path('teleport.key'),
  };
  const tlsSet = (['ca', 'cert', 'key'] as const).filter((k) => tp[k]).map((k) => 'teleport.' + k);
  const someTls = tlsSet.length;
  if (someTls > 0 && someTls < 3) {
    throw new ConfigError(
      `${where(filePath)}keys "teleport.ca", "teleport.cert" and "teleport.key" go together: set all three or none (set: ${setKeys(tlsSet)})`,
    );
  }
  if (tp.identity && someTls === 3) {
    throw new ConfigError(
      `${where(filePath)}key "teleport.identity" and "teleport.ca/cert/key" exclude each other: use one of them (set: ${setKeys(['teleport.identity', ...tlsSet])})`,
    );
  }
  const teleportExplicit = raw.has('teleport.enabled');
  const teleportEnabled = teleportExplicit
    ? (get('teleport.enabled') as boolean)
    : Boolean(tp.identity || someTls === 3);
  if (teleportEnabled && !tp.identity && someTls === 0 && !input.partial) {
    throw new ConfigError(
      `${where(filePath)}the Teleport poller is enabled (${whereOf('teleport.enabled')}) but has no credentials: set "teleport.identity" (flag --teleport-identity) or teleport.ca, teleport.cert and teleport.key`,
    );
  }
  if (!ingestEnabled && !teleportEnabled && !input.partial) {
    throw new ConfigError(
      nothingToForward(
        filePath,
        ingestExplicit && whereOf('ingest.enabled'),
        teleportExplicit && whereOf('teleport.enabled'),
      ),
    );
  }
  // a poller setting given while the poller is switched off (a flag or env var over `enabled = false`) does nothing
  if (teleportExplicit && !teleportEnabled) {
    const ignored = [...raw.keys()].filter((k) => k.startsWith('teleport.') && k !== 'teleport.enabled');
    if (ignored.length > 0) {
      const overridden = ignored.some((k) => !raw.get(k)!.origin.where.startsWith(`${filePath}:`));
      notes.push({
        level: overridden ? 'warn' : 'info',
        where: whereOf('teleport.enabled'),
        message: `teleport.enabled is false, so the Teleport poller stays off and these are not used: ${setKeys(ignored)}; set teleport.enabled = true (flag --teleport-enabled, env TDF_TELEPORT_ENABLED) to poll`,
      });
    }
  }

  // reject answers an http client 400: the poller has none to answer, so its unmatched records are dropped (app.ts)
  if (get('routing.unmatched') === 'reject' && teleportEnabled) {
    notes.push({
      level: 'info',
      where: whereOf('routing.unmatched'),
      message:
        'routing.unmatched = "reject" answers the ingest\'s clients 400; the poller has no client to refuse, so its records no rule matches are dropped and counted, as with "drop"',
    });
  }

  // datadog takes log times up to 18 h old: past that, an event sent with its own time is not indexed as current.
  // a warning, not an error: datadog.url may point at an intake without that limit
  const maxAgeMs = get('routing.max-age') as number;
  const oldTimestamps = get('routing.old-timestamps') as Config['routing']['oldTimestamps'];
  if (maxAgeMs > TIMESTAMP_WINDOW_MS && oldTimestamps !== 'keep') {
    notes.push({
      level: 'warn',
      where: whereOf('routing.max-age'),
      message: `routing.max-age is ${hours(maxAgeMs)} h, over Datadog's 18 h: events between 18 h and ${hours(maxAgeMs)} h old are sent with their own time and Datadog does not index them as current (routing.old-timestamps "${oldTimestamps}" only applies past max-age); use at most 18h (the default 17h keeps a margin)`,
    });
  }

  // the site (or url) is checked here, not when the sink starts, so the error can say where the value came from
  if (!input.partial) {
    const url = get('datadog.url') as string | undefined;
    const key = url !== undefined && url.trim() !== '' ? 'datadog.url' : 'datadog.site';
    try {
      if (key === 'datadog.url') parseIntakeUrl(url!);
      else parseSite(get('datadog.site') as string);
    } catch (err) {
      if (!(err instanceof ConfigError) || !origin(key)) throw err;
      throw new ConfigError(`${whereOf(key)}: ${err.message}`, { cause: err });
    }
  }

  const dryRun = get('dry-run') as boolean;
  const { apiKey, apiKeyOrigin, apiKeyFile } = readApiKey(
    get('datadog.api-key') as string | undefined,
    origin('datadog.api-key'),
    path('datadog.api-key-file'),
    whereOf('datadog.api-key-file'),
  );
  if (!apiKey && !dryRun && !input.partial) {
    throw new ConfigError(
      'no Datadog API key: set the DD_API_KEY environment variable or datadog.api-key-file (or run with --dry-run)',
    );
  }

  // an inline passphrase wins over the file, which is then not read
  const passphraseFile = path('ingest.key-passphrase-file');
  let keyPassphrase = get('ingest.key-passphrase') as string | undefined;
  const keyPassphraseFile = keyPassphrase ? undefined : passphraseFile;
  if (keyPassphraseFile) keyPassphrase = readSecretFile(keyPassphraseFile, whereOf('ingest.key-passphrase-file'));

  // fluent.conf has no place for our spool: by default it lands beside the file (/etc/fluent/storage, say)
  // (the conversion writes storage = "./storage" itself; a flag or environment variable may set it elsewhere)
  if (fromFluentConf && (origin('storage')?.where.startsWith(`${filePath}:`) ?? true)) {
    notes.push({
      level: 'info',
      where: filePath!,
      message: `the spool is kept in ${path('storage')}, beside this fluent.conf (storage defaults to ./storage next to the config file): set storage (flag --storage, env TDF_STORAGE) to keep it elsewhere, e.g. /var/lib/teleport-datadog-forwarder`,
    });
  }

  const config: Config = {
    file: filePath,
    fluentNotes,
    notes,
    origins: Object.fromEntries([...raw].map(([key, r]) => [key, r.origin.where])),
    storage: path('storage')!,
    hostname: (get('hostname') as string | undefined) ?? osHostname(),
    logLevel,
    dryRun,
    exitOnLastEvent: get('exit-on-last-event') as boolean,
    ingest: {
      enabled: ingestEnabled,
      host: get('ingest.host') as string,
      port: get('ingest.port') as number,
      ...ingestFiles,
      keyPassphrase,
      keyPassphraseFile,
      bodyLimit: get('ingest.body-limit') as number,
      maxDecompressed: get('ingest.max-decompressed') as number,
      retryAfterMs: get('ingest.retry-after') as number,
      requestTimeoutMs: get('ingest.request-timeout') as number,
      maxRecords: get('ingest.max-records') as number,
      ack: get('ingest.ack') as 'fsync' | 'written',
      syncIntervalMs: get('ingest.sync-interval') as number,
    },
    datadog: {
      site: get('datadog.site') as string,
      url: get('datadog.url') as string | undefined,
      apiKey,
      apiKeyOrigin,
      apiKeyFile,
      concurrency: get('datadog.concurrency') as number,
      batchMaxEntries: get('datadog.batch-max-entries') as number,
      batchMaxBytes: get('datadog.batch-max-bytes') as number,
      timeoutMs: get('datadog.timeout') as number,
      compression: get('datadog.compression') as Config['datadog']['compression'],
      compressionLevel: get('datadog.compression-level') as number,
      caFile: path('datadog.ca-file'),
      retryInitialMs: get('datadog.retry-initial') as number,
      retryMaxMs: get('datadog.retry-max') as number,
      authRetryMs: get('datadog.auth-retry') as number,
      batchWaitMs: get('datadog.batch-wait') as number,
    },
    spool: { maxBytes: get('spool.max-bytes') as number },
    runtime: { heapGrowingPercent: get('runtime.heap-growing-percent') as number },
    admin: {
      enabled: get('admin.enabled') as boolean,
      host: get('admin.host') as string,
      port: get('admin.port') as number,
    },
    routing: {
      unmatched: get('routing.unmatched') as Config['routing']['unmatched'],
      oldTimestamps,
      maxAgeMs,
      rules,
    },
    filters,
    teleport: {
      enabled: teleportEnabled,
      addr: get('teleport.addr') as string,
      identity: tp.identity,
      refreshEnabled: get('teleport.refresh.enabled') as boolean,
      refreshIntervalMs: get('teleport.refresh.interval') as number,
      ca: tp.ca,
      cert: tp.cert,
      key: tp.key,
      serverName: get('teleport.server-name') as string,
      mode: get('teleport.mode') as 'auto' | 'direct' | 'proxy',
      // empty is unset: the identity's cluster name is used
      clusterName: (get('teleport.cluster-name') as string | undefined) || undefined,
      startTime: get('start-time') as Date | undefined,
      batch: get('batch') as number,
      windowSizeMs: get('window-size') as number,
      types: get('types') as string[],
      skipEventTypes: get('skip-event-types') as string[],
      skipSessionTypes: get('skip-session-types') as string[],
      concurrency: get('concurrency') as number,
      timeoutMs: get('timeout') as number,
      pollIntervalMs: get('poll-interval') as number,
      streamIdleMs: get('stream-idle-timeout') as number,
      eventsTag,
      sessionTagPrefix,
      lock: {
        enabled: get('lock.enabled') as boolean,
        failedAttemptsCount: get('lock.failed-attempts-count') as number,
        periodMs: get('lock.period') as number,
        forMs: get('lock.for') as number,
      },
    },
  };
  return deepFreeze(config);
}

function where(filePath: string | null): string {
  return filePath ? `${filePath}: ` : '';
}

/** why neither source runs; ingestOff / teleportOff: where `enabled = false` came from, when it was set */
function nothingToForward(filePath: string | null, ingestOff: string | false, teleportOff: string | false): string {
  const setIngest = 'configure the ingest (ingest.ca, ingest.cert, ingest.key)';
  const setTeleport = 'the Teleport poller (teleport.identity, or teleport.ca, teleport.cert and teleport.key)';
  if (ingestOff && teleportOff) {
    return `nothing to forward: ingest.enabled (${ingestOff}) and teleport.enabled (${teleportOff}) are both false; set one of them to true`;
  }
  if (ingestOff)
    return `${where(filePath)}nothing to forward: ingest.enabled is false (${ingestOff}) and the Teleport poller is not configured: configure ${setTeleport}`;
  if (teleportOff)
    return `${where(filePath)}nothing to forward: teleport.enabled is false (${teleportOff}) and the ingest is not configured: ${setIngest}`;
  if (!filePath) {
    return `no config file was given (--config or TDF_CONFIG), and no flag or environment variable sets a source, so there is nothing to forward: give a config file, or ${setIngest} or ${setTeleport}, or both`;
  }
  return `${filePath}: nothing to forward: ${setIngest} or ${setTeleport}, or both`;
}

function hours(ms: number): string {
  return String(Math.round((ms / 3_600_000) * 10) / 10);
}

function settingByFlag(name: string): Setting | undefined {
  for (const s of SETTINGS) if (flagName(s.key) === name) return s;
  return undefined;
}

/** a fluent.conf is read as fluentd config: by its name, or by its content when the name says nothing */
function isFluentConf(filePath: string): boolean {
  if (filePath.endsWith('.conf')) return true;
  if (filePath.endsWith('.toml')) return false;
  try {
    return looksLikeFluentConf(readFileSync(filePath, 'utf8'));
  } catch {
    return false;
  }
}

function readToml(filePath: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `config file ${filePath} cannot be read: ${e.code === 'ENOENT' ? 'no such file' : e.message}`,
      { cause: err },
    );
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(tomlErrorMessage(filePath, text, err), { cause: err });
  }
}

function parseSetting(s: Setting, value: unknown, origin: Origin): unknown {
  try {
    switch (s.type) {
      case 'string':
      case 'path':
        if (typeof value !== 'string') throw new Error(`expected a string, got ${describe(value)}`);
        return value;
      case 'int': {
        const n = parseInt10(value);
        if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max))
          throw new Error(`expected a whole number from ${s.min ?? '-∞'} to ${s.max ?? '∞'}, got ${n}`);
        return n;
      }
      case 'bytes': {
        const n = parseBytes(value);
        if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max))
          throw new Error(`expected a size from ${s.min ?? 0} to ${s.max ?? '∞'} bytes, got ${n}`);
        return n;
      }
      case 'bool':
        return parseBool(value);
      case 'duration': {
        const ms = parseDuration(value);
        if ((s.min !== undefined && ms < s.min) || (s.max !== undefined && ms > s.max))
          throw new Error(`expected a duration from ${s.min ?? 0} ms to ${s.max ?? '∞'} ms, got ${ms} ms`);
        return ms;
      }
      case 'list':
        return parseList(value);
      case 'time':
        return parseTime(value);
      case 'enum':
        if (typeof value !== 'string' || !s.values!.includes(value))
          throw new Error(
            `expected one of ${s.values!.map((v) => `"${v}"`).join(', ')}, got ${s.secret ? 'a hidden value' : describe(value)}`,
          );
        return value;
    }
  } catch (err) {
    const msg = s.secret ? 'expected a string' : (err as Error).message;
    throw new ConfigError(`${origin.where}: ${msg}`);
  }
}

function describe(v: unknown): string {
  if (v instanceof Date) return 'a date';
  return JSON.stringify(v) ?? String(v);
}

function parseMatchTables(tables: unknown[], filePath: string): MatchRule[] {
  const known = MATCH_SETTINGS.map((m) => m.key);
  return tables.map((t, i) => {
    const at = `${filePath}: [[match]] #${i + 1}`;
    if (t === null || typeof t !== 'object' || Array.isArray(t)) throw new ConfigError(`${at}: expected a table`);
    const table = t as Record<string, unknown>;
    for (const k of Object.keys(table)) {
      if (!known.includes(k)) {
        const hint = closest(k, known);
        throw new ConfigError(`${at}: unknown key "${k}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
    const str = (k: string): string | undefined => {
      const v = table[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') throw new ConfigError(`${at}: key "${k}": expected a string, got ${describe(v)}`);
      return v;
    };
    const pattern = str('pattern');
    if (!pattern || pattern.trim() === '')
      throw new ConfigError(
        `${at}: key "pattern" is required (a Fluentd tag pattern like "test.log" or "session.*.log")`,
      );
    const type = str('type') ?? 'datadog';
    if (type !== 'datadog' && type !== 'null')
      throw new ConfigError(`${at}: key "type": expected "datadog" or "null", got "${type}"`);
    let tags: string[] | undefined;
    if (table.tags !== undefined) {
      try {
        tags = parseList(table.tags);
      } catch (err) {
        throw new ConfigError(`${at}: key "tags": ${(err as Error).message}`);
      }
    }
    let includeTagKey: boolean | undefined;
    if (table['include-tag-key'] !== undefined) {
      if (typeof table['include-tag-key'] !== 'boolean')
        throw new ConfigError(`${at}: key "include-tag-key": expected true or false`);
      includeTagKey = table['include-tag-key'];
    }
    const rule: MatchRule = { pattern, type };
    const set = <K extends keyof MatchRule>(k: K, v: MatchRule[K] | undefined) => {
      if (v !== undefined) rule[k] = v;
    };
    set('source', str('source'));
    set('sourceCategory', str('source-category'));
    set('service', str('service'));
    set('tags', tags);
    set('hostname', str('hostname'));
    set('includeTagKey', includeTagKey);
    set('tagKey', str('tag-key'));
    set('timestampKey', str('timestamp-key'));
    return rule;
  });
}

function tagFromUrl(url: string, origin: Origin): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    throw new ConfigError(
      `${origin.where}: expected a URL like "https://forwarder:8888/events.log", got ${JSON.stringify(url)}`,
    );
  }
  const tag = path.replace(/^\/+/, '').split('/').filter(Boolean).join('.');
  if (!tag)
    throw new ConfigError(
      `${origin.where}: the URL has no path, so it gives no tag; expected something like "https://forwarder:8888/events.log"`,
    );
  return tag;
}

type ApiKey = { apiKey?: string; apiKeyOrigin?: string; apiKeyFile?: string };

/** the inline key wins over the file, which is then not read */
function readApiKey(
  inline: string | undefined,
  origin: Origin | undefined,
  file: string | undefined,
  fileWhere: string,
): ApiKey {
  if (inline)
    return {
      apiKey: checkApiKey(inline.trim(), origin?.where ?? 'datadog.api-key'),
      apiKeyOrigin: origin?.where.replace(/: key .*/, '') ?? 'config',
    };
  if (file)
    return {
      apiKey: checkApiKey(readSecretFile(file, fileWhere), `${fileWhere} (${file})`),
      apiKeyOrigin: file,
      apiKeyFile: file,
    };
  return {};
}

// a key with spaces, several lines or control characters cannot go in an http header: every request would fail,
// forever. say so at start (without the key)
function checkApiKey(key: string, where: string): string {
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError(
      `${where}: the Datadog API key must be one line of printable characters without spaces (it holds ${/\n/.test(key) ? 'several lines' : 'spaces or control characters'})`,
    );
  }
  return key;
}

/** reads a one-line secret file; the content never appears in errors. where: where the path came from */
export function readSecretFile(file: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`${where}: ${file} is empty`);
  return value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !(o instanceof Date)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
