// readiness and the /status document, built from the components' snapshots. pure apart from reading the clock
// and the snapshots themselves. nothing secret goes in: the config is summarized key by key from an allow list,
// and every string of the document is scrubbed of the api key and the key passphrase in case an error text
// (a datadog answer, say) ever echoed one.
import { packageVersion } from '../paths.js';
import type { Config } from '../config/load.js';
import type { SpoolStats } from '../spool/types.js';
import type { RouterStats } from '../router/router.js';
import type { FilterStats } from '../filter/chain.js';
import type { DatadogSinkStatus } from '../sinks/datadog/sink.js';
import type { IngestStats } from '../sources/http/server.js';
import type { TeleportSourceStatus } from '../sources/teleport/source.js';
import { identityExpiresIn, teleportCheck, teleportWarnings } from '../sources/teleport/health.js';
import { ingestCheck } from '../sources/http/health.js';
import { datadogCheck, datadogWarnings } from '../sinks/datadog/health.js';
import { spoolCheck, spoolWarnings } from '../spool/health.js';
import type { JobView } from '../backfill/manager.js';
import type { MetricsSources } from './metrics.js';
import { fail, type Check } from '../health.js';

/** what readiness and /status read; the same object can be handed to createMetrics */
export interface StatusSources extends MetricsSources {
  config: Readonly<Config>;
  version: string;
  /** epoch ms the process (or app) started */
  startedAt: number;
  /** where the ingest listens; undefined while it does not (starting, closed) */
  ingestAddress?: () => { host: string; port: number } | undefined;
  /** true once shutdown began: readiness fails first, so load balancers move away */
  stopping?: () => boolean;
}

export type HealthCheck = Check<'spool' | 'ingest' | 'teleport' | 'datadog' | 'shutdown'>;

export interface HealthReport {
  ready: boolean;
  checks: HealthCheck[];
}

export interface ConfigSummary {
  file: string | null;
  storage: string;
  dryRun: boolean;
  exitOnLastEvent: boolean;
  ingest: {
    enabled: boolean;
    host: string;
    port: number;
    bodyLimit: number;
    maxDecompressed: number;
    ack: 'fsync' | 'written';
    syncIntervalMs: number;
  };
  datadog: {
    site: string;
    url: string | null;
    /** whether a key is set, and where it came from; never the key */
    apiKeySet: boolean;
    apiKeyFrom: string | null;
    concurrency: number;
    batchMaxEntries: number;
    compression: string;
  };
  spool: { maxBytes: number };
  admin: { host: string; port: number };
  routing: { unmatched: string; oldTimestamps: string; maxAgeMs: number; rules: number };
  teleport: {
    enabled: boolean;
    addr: string;
    identityFile: string | null;
    refreshEnabled: boolean;
    startTime: string | null;
    types: string[];
    lockEnabled: boolean;
  };
}

export interface LastError {
  component: 'datadog' | 'teleport';
  message: string;
  status?: number | null;
  /** ISO time, when known */
  at: string | null;
}

export interface StatusDoc {
  version: string;
  /** ISO time the document was made */
  now: string;
  startedAt: string;
  uptimeSeconds: number;
  pid: number;
  ready: boolean;
  checks: HealthCheck[];
  /** sentences a person should act on */
  warnings: string[];
  config: ConfigSummary;
  spool: (SpoolStats & { oldestAgeSeconds: number | null; usedRatio: number }) | null;
  deadLetters: number | null;
  router: RouterStats | null;
  /** per [[filter]], in config order; null when none is configured */
  filters: FilterStats[] | null;
  ingest: { address: { host: string; port: number } | null; stats: IngestStats | null } | null;
  datadog: (Omit<DatadogSinkStatus, 'lastError'> & { lastError: LastError | null }) | null;
  teleport:
    | (Omit<TeleportSourceStatus, 'identityRefreshedAt'> & {
        identityRefreshedAt: string | null;
        lastEventAt: string | null;
        exportLagSeconds: number | null;
        identityExpiresInSeconds: number | null;
      })
    | null;
  lastErrors: LastError[];
  /** backfill jobs of this storage, oldest first (the admin api adds them) */
  backfill?: JobView[];
}

export function healthReport(s: StatusSources): HealthReport {
  const checks: HealthCheck[] = [];
  const { config } = s;
  if (s.stopping?.()) checks.push(fail('shutdown', 'the forwarder is shutting down'));

  checks.push(spoolCheck(s.spool?.(), config.storage));
  if (config.ingest.enabled) checks.push(ingestCheck(s.ingestAddress?.()));
  if (config.teleport.enabled) checks.push(teleportCheck(s.teleport?.(), config.teleport, (s.now ?? Date.now)()));
  if (!config.dryRun) checks.push(datadogCheck(s.sink?.()));

  const report = { ready: checks.every((c) => c.ok), checks };
  return scrub(report, secretsOf(config));
}

export function statusDoc(s: StatusSources): StatusDoc {
  const now = (s.now ?? Date.now)();
  const { config } = s;
  const health = healthReport(s);
  const warnings: string[] = [];
  const lastErrors: LastError[] = [];

  const sp = s.spool?.();
  let spool: StatusDoc['spool'] = null;
  if (sp) {
    const oldestAgeSeconds = sp.oldestAppendedAt === null ? null : Math.max(0, (now - sp.oldestAppendedAt) / 1000);
    spool = { ...sp, oldestAgeSeconds, usedRatio: sp.maxBytes > 0 ? sp.bytes / sp.maxBytes : 0 };
    warnings.push(...spoolWarnings(spool));
  }

  let datadog: StatusDoc['datadog'] = null;
  const d = config.dryRun ? undefined : s.sink?.();
  if (d) {
    const lastError: LastError | null = d.lastError
      ? { component: 'datadog', message: d.lastError.message, status: d.lastError.status, at: iso(d.lastError.at) }
      : null;
    datadog = { ...d, lastError };
    if (lastError) lastErrors.push(lastError);
    warnings.push(...datadogWarnings(d));
  }

  let teleport: StatusDoc['teleport'] = null;
  const t = config.teleport.enabled ? s.teleport?.() : undefined;
  if (t) {
    const identityExpiresInSeconds = identityExpiresIn(t, now);
    teleport = {
      ...t,
      identityRefreshedAt: iso(t.identityRefreshedAt),
      lastEventAt: iso(t.lastEventTime),
      exportLagSeconds: t.lastEventTime === null ? null : Math.max(0, (now - t.lastEventTime) / 1000),
      identityExpiresInSeconds,
    };
    if (t.lastError) lastErrors.push({ component: 'teleport', message: t.lastError, at: null });
    warnings.push(...teleportWarnings(t, config.teleport, now));
  }

  let ingest: StatusDoc['ingest'] = null;
  if (config.ingest.enabled) ingest = { address: s.ingestAddress?.() ?? null, stats: s.ingest?.() ?? null };

  const doc: StatusDoc = {
    version: s.version,
    now: new Date(now).toISOString(),
    startedAt: new Date(s.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, (now - s.startedAt) / 1000),
    pid: process.pid,
    ready: health.ready,
    checks: health.checks,
    warnings,
    config: configSummary(config),
    spool,
    deadLetters: sp ? sp.deadLetters : null,
    router: s.router?.() ?? null,
    filters: s.filters?.() ?? null,
    ingest,
    datadog,
    teleport,
    lastErrors,
  };
  return scrub(doc, secretsOf(config));
}

export function configSummary(c: Readonly<Config>): ConfigSummary {
  return {
    file: c.file,
    storage: c.storage,
    dryRun: c.dryRun,
    exitOnLastEvent: c.exitOnLastEvent,
    ingest: {
      enabled: c.ingest.enabled,
      host: c.ingest.host,
      port: c.ingest.port,
      bodyLimit: c.ingest.bodyLimit,
      maxDecompressed: c.ingest.maxDecompressed,
      ack: c.ingest.ack,
      syncIntervalMs: c.ingest.syncIntervalMs,
    },
    datadog: {
      site: c.datadog.site,
      url: c.datadog.url ? safeUrl(c.datadog.url) : null,
      apiKeySet: Boolean(c.datadog.apiKey),
      apiKeyFrom: c.datadog.apiKeyOrigin ?? null,
      concurrency: c.datadog.concurrency,
      batchMaxEntries: c.datadog.batchMaxEntries,
      compression: c.datadog.compression,
    },
    spool: { maxBytes: c.spool.maxBytes },
    admin: { host: c.admin.host, port: c.admin.port },
    routing: {
      unmatched: c.routing.unmatched,
      oldTimestamps: c.routing.oldTimestamps,
      maxAgeMs: c.routing.maxAgeMs,
      rules: c.routing.rules.length,
    },
    teleport: {
      enabled: c.teleport.enabled,
      addr: c.teleport.addr,
      identityFile: c.teleport.identity ?? c.teleport.cert ?? null,
      refreshEnabled: c.teleport.refreshEnabled,
      startTime: c.teleport.startTime ? c.teleport.startTime.toISOString() : null,
      types: [...c.teleport.types],
      lockEnabled: c.teleport.lockEnabled,
    },
  };
}

/** the version in our package.json */
export function readVersion(): string {
  return packageVersion();
}

function iso(ms: number | null | undefined): string | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** a url without credentials, query or fragment */
function safeUrl(value: string): string {
  try {
    const u = new URL(value);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString();
  } catch {
    return '(not a valid url)';
  }
}

function secretsOf(c: Readonly<Config>): string[] {
  // short values would blank out ordinary words; real keys and passphrases are longer
  return [c.datadog.apiKey, c.ingest.keyPassphrase].filter((v): v is string => typeof v === 'string' && v.length >= 6);
}

/** a deep copy with every occurrence of a secret in a string replaced */
export function scrub<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
