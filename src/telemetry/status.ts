// readiness and the /status document, built from the components' snapshots. pure apart from reading the clock
// and the snapshots themselves. nothing secret goes in: the config is summarized key by key from an allow list,
// and every string of the document is scrubbed of the api key and the key passphrase in case an error text
// (a datadog answer, say) ever echoed one.
import { packageVersion } from '../paths.js';
import type { Config } from '../config/load.js';
import type { SpoolStats } from '../spool/types.js';
import type { WalDamage } from '../spool/wal-damage.js';
import type { RouterStats } from '../router/router.js';
import type { FilterStats } from '../filter/chain.js';
import type { DatadogSinkStatus } from '../sinks/datadog/sink.js';
import type { IngestStats } from '../sources/http/server.js';
import type { TeleportSourceStatus } from '../sources/teleport/source.js';
import { FIRST_MESSAGE_IDLE_FACTOR } from '../sources/teleport/batches.js';
import type { MetricsSources } from './metrics.js';

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

export interface HealthCheck {
  name: 'spool' | 'ingest' | 'teleport' | 'datadog' | 'shutdown';
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  ready: boolean;
  checks: HealthCheck[];
}

export interface ConfigSummary {
  file: string | null;
  storage: string;
  dryRun: boolean;
  exitOnLastEvent: boolean;
  ingest: { enabled: boolean; host: string; port: number; bodyLimit: number; maxDecompressed: number };
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
}

export const STATUS_THRESHOLDS = Object.freeze({
  oldestWarnSeconds: 12 * 3600, // warn well before datadog's 18 h indexing window
  datadogWindowSeconds: 18 * 3600,
  spoolWarnRatio: 0.9,
  identityWarnSeconds: 24 * 3600,
  /**
   * with refresh on, warn only when less than this many refresh intervals (and at least identityRefreshWarnSeconds)
   * are left: tbot renews its 1 h certificates every 20 min, so a healthy one never has under 40 min left
   */
  identityRefreshIntervalsLeft: 10,
  identityRefreshWarnSeconds: 30 * 60,
  /** the poller failing for this long (at least; 3 poll intervals if longer) is a warning */
  teleportFailingWarnSeconds: 60,
});

/** quiet teleport streams given a warning each; the rest are counted */
const QUIET_WARNED = 3;

/**
 * how long a running poller has read nothing, once that is worth saying (3 poll intervals, at least a minute: a
 * restart of the auth service should not raise it); null while it reads or has failed only briefly
 */
function readingNothingFor(t: TeleportSourceStatus, config: Readonly<Config>, now: number): number | null {
  if (t.state !== 'running' || t.failingSince === null) return null;
  const ms = now - t.failingSince;
  return ms >= Math.max(STATUS_THRESHOLDS.teleportFailingWarnSeconds * 1000, 3 * config.teleport.pollIntervalMs)
    ? ms
    : null;
}

export function healthReport(s: StatusSources): HealthReport {
  const checks: HealthCheck[] = [];
  const { config } = s;
  if (s.stopping?.()) checks.push({ name: 'shutdown', ok: false, detail: 'the forwarder is shutting down' });

  const spool = s.spool?.();
  checks.push(
    spool
      ? { name: 'spool', ok: true, detail: `open: ${spool.records} records queued` }
      : { name: 'spool', ok: false, detail: `spool at ${config.storage} is not open` },
  );

  if (config.ingest.enabled) {
    const at = s.ingestAddress?.();
    checks.push(
      at
        ? { name: 'ingest', ok: true, detail: `listening on ${hostPort(at.host, at.port)}` }
        : { name: 'ingest', ok: false, detail: 'the ingest is not listening' },
    );
  }

  if (config.teleport.enabled) {
    const t = s.teleport?.();
    if (!t) checks.push({ name: 'teleport', ok: false, detail: 'the teleport poller has not started' });
    else if (t.state === 'running') {
      // not a readiness failure (the ingest on the same pod still takes events), but it says that nothing is read
      const silent = readingNothingFor(t, config, (s.now ?? Date.now)());
      const detail = t.lastError
        ? `running, ${silent !== null ? `reading nothing for ${formatDuration(silent / 1000)}` : 'retrying'} after: ${t.lastError}`
        : t.spoolWaitingSince !== null
          ? `running, waiting for spool space for ${formatDuration(((s.now ?? Date.now)() - t.spoolWaitingSince) / 1000)} (the spool is full: reading resumes as it drains)`
          : `running${t.caughtUp ? ', caught up' : ''}`;
      checks.push({ name: 'teleport', ok: true, detail });
    } else {
      checks.push({
        name: 'teleport',
        ok: false,
        detail: `the teleport poller is ${t.state}${t.lastError ? `: ${t.lastError}` : ''}`,
      });
    }
  }

  if (!config.dryRun) {
    const d = s.sink?.();
    if (!d) checks.push({ name: 'datadog', ok: false, detail: 'the datadog sink has not started' });
    else if (d.stalled !== null) {
      checks.push({ name: 'datadog', ok: false, detail: `delivery stopped: ${d.stalled}` });
    } else if (d.authFailing) {
      checks.push({
        name: 'datadog',
        ok: false,
        detail: `datadog refuses the api key${d.lastError?.status ? ` (${d.lastError.status})` : ''}: delivery is held; check the API key and site`,
      });
    } else checks.push({ name: 'datadog', ok: true, detail: 'api key accepted or not yet refused' });
  }

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
    if (d.authFailing)
      warnings.push(
        'Datadog refuses the API key: nothing is delivered (nothing is dropped either) until the key or site is fixed.',
      );
  }

  let teleport: StatusDoc['teleport'] = null;
  const t = config.teleport.enabled ? s.teleport?.() : undefined;
  if (t) {
    const notAfter = t.identity ? Date.parse(t.identity.notAfter) : NaN;
    const identityExpiresInSeconds = Number.isFinite(notAfter) ? (notAfter - now) / 1000 : null;
    teleport = {
      ...t,
      identityRefreshedAt: iso(t.identityRefreshedAt),
      lastEventAt: iso(t.lastEventTime),
      exportLagSeconds: t.lastEventTime === null ? null : Math.max(0, (now - t.lastEventTime) / 1000),
      identityExpiresInSeconds,
    };
    if (t.lastError) lastErrors.push({ component: 'teleport', message: t.lastError, at: null });
    for (const c of t.stuckChunks) {
      warnings.push(
        `Teleport export chunk ${c.chunk} of ${c.date} has failed ${c.failures} times in a row since ${new Date(c.since).toISOString()} (${c.lastError}): its events are not exported until it succeeds. Check the Auth Service's logs and its audit storage.`,
      );
    }
    for (const q of t.quietStreams.slice(0, QUIET_WARNED)) {
      const cancelAfter = (q.started ? 1 : FIRST_MESSAGE_IDLE_FACTOR) * config.teleport.streamIdleMs;
      warnings.push(
        `Teleport ${q.what} has sent nothing for ${formatDuration(q.quietForMs / 1000)} with its connection up${q.started ? '' : ' (nothing yet: the auth service may still be preparing it)'}; it is cancelled and retried from its cursor after ${formatDuration(cancelAfter / 1000)} of silence (stream-idle-timeout).`,
      );
    }
    const moreQuiet = t.streamsQuiet - Math.min(QUIET_WARNED, t.quietStreams.length);
    if (moreQuiet > 0)
      warnings.push(
        `${moreQuiet} more Teleport ${moreQuiet === 1 ? 'stream has' : 'streams have'} sent nothing for as long.`,
      );
    if (t.state === 'failed')
      warnings.push(
        `The Teleport poller failed: ${t.lastError ?? 'see the logs'}; restart the forwarder once the cause is fixed.`,
      );
    const silent = readingNothingFor(t, config, now);
    if (silent !== null) {
      const since = new Date(now - silent).toISOString();
      const last =
        t.lastSuccessAt === null
          ? 'no call has succeeded since the start'
          : `the last call that succeeded was at ${new Date(t.lastSuccessAt).toISOString()}`;
      warnings.push(
        `The Teleport poller has read nothing since ${since} (${formatDuration(silent / 1000)}; ${last}): ${t.lastError ?? 'see the logs'}. \`check\` tests the address, the identity and the role.`,
      );
    }
    // tbot renews short-lived identities on its own: with refresh on, only an identity about to lapse is news
    const identityWarn = config.teleport.refreshEnabled
      ? Math.min(
          STATUS_THRESHOLDS.identityWarnSeconds,
          Math.max(
            STATUS_THRESHOLDS.identityRefreshWarnSeconds,
            (STATUS_THRESHOLDS.identityRefreshIntervalsLeft * config.teleport.refreshIntervalMs) / 1000,
          ),
        )
      : STATUS_THRESHOLDS.identityWarnSeconds;
    if (identityExpiresInSeconds !== null && identityExpiresInSeconds < identityWarn) {
      warnings.push(
        identityExpiresInSeconds <= 0
          ? `The Teleport identity ${t.identity!.file} has expired: renew it (tbot, or tctl auth sign).`
          : `The Teleport identity ${t.identity!.file} expires in ${formatDuration(identityExpiresInSeconds)}: make sure it is renewed.`,
      );
    }
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

/** the spool's storage was found damaged (this start, or kept from an earlier one): every spool view says so */
export function walWarnings(spool: { walDamage?: WalDamage | null; walDamageKept?: string[] }): string[] {
  const out: string[] = [];
  const damage = spool.walDamage;
  if (damage) {
    out.push(
      `The spool's storage was damaged: at start-up LevelDB skipped ${damage.droppedBytes} bytes of its write-ahead log (${damage.reasons.join('; ')}), so records acknowledged before the last stop may be lost.${damage.keptIn ? ` The damaged log is kept in ${damage.keptIn}.` : ''} Check the disk.`,
    );
  }
  const earlier = (spool.walDamageKept ?? []).filter((d) => d !== damage?.keptIn);
  if (earlier.length > 0) {
    out.push(
      `The spool's storage holds damaged write-ahead logs kept from an earlier start (${earlier.join(', ')}): records may have been lost then. Remove them once inspected.`,
    );
  }
  return out;
}

/** warnings about the spool that both the live document and the on-disk view give */
export function spoolWarnings(spool: {
  records: number;
  deadLetters: number;
  oldestAgeSeconds: number | null;
  bytes: number;
  maxBytes: number;
  walDamage?: WalDamage | null;
  walDamageKept?: string[];
}): string[] {
  const out: string[] = [];
  out.push(...walWarnings(spool));
  const age = spool.oldestAgeSeconds;
  if (age !== null && age > STATUS_THRESHOLDS.datadogWindowSeconds) {
    out.push(
      `The oldest undelivered record was queued ${formatDuration(age)} ago, past Datadog's 18 h window: it will not be indexed as current. Check why delivery is stuck (last errors, API key).`,
    );
  } else if (age !== null && age > STATUS_THRESHOLDS.oldestWarnSeconds) {
    out.push(
      `The oldest undelivered record was queued ${formatDuration(age)} ago: Datadog does not index logs over 18 h old as current. Check why delivery is slow (last errors, API key).`,
    );
  }
  if (spool.maxBytes > 0 && spool.bytes / spool.maxBytes >= STATUS_THRESHOLDS.spoolWarnRatio) {
    out.push(
      `The spool is ${Math.floor((spool.bytes / spool.maxBytes) * 100)}% full: at 100% the ingest answers 503 and the poller waits.`,
    );
  }
  if (spool.deadLetters > 0) {
    out.push(
      `${spool.deadLetters} dead letter${spool.deadLetters === 1 ? '' : 's'}: Datadog refused them for good; inspect with \`spool ls --dead\`, then replay or purge.`,
    );
  }
  return out;
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
      lockEnabled: c.teleport.lock.enabled,
    },
  };
}

/** "3 d 4 h", "5 h 12 m", "42 s" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** the version in our package.json */
export function readVersion(): string {
  return packageVersion();
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
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
