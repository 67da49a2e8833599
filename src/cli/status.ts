// `status`: what the forwarder is doing. asks the running forwarder's admin api for /status; when that cannot be
// reached, reads the storage directory itself. LevelDB admits one process at a time, so a storage directory that
// refuses us (lock held) means the forwarder runs but its admin api is out of reach: we say so and read nothing.
// rendering is pure (renderStatus, renderDiskStatus) so it is tested from documents.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { StorageError } from '../errors.js';
import { openSpool } from '../spool/spool.js';
import { levelCode, refuseBeforeOpen } from '../spool/storage-errors.js';
import type { SpoolStats } from '../spool/types.js';
import { K, PREFIX } from '../sources/teleport/state.js';
import { clean, formatBytes, formatDuration, hostPort } from '../format.js';
import { adminBaseUrl, fetchAdmin, normalizeBaseUrl } from '../telemetry/admin-client.js';
import { spoolWarnings } from '../spool/health.js';
import type { StatusDoc } from '../telemetry/status.js';
import { jobLine } from '../backfill/render.js';
import { storedJobs, storedView, type JobView } from '../backfill/manager.js';

export interface Output {
  write(text: string): unknown;
}

export interface RunStatusOptions {
  configFile?: string;
  /** flags the user gave, by flag name (as for `start`) */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** admin api base url; default http://admin.host:admin.port from the config */
  url?: string;
  out: Output;
  /** print the raw document */
  json?: boolean;
  now?: () => number;
  timeoutMs?: number;
}

/** what the storage directory tells while the forwarder is not running */
export interface DiskStatus {
  source: 'storage';
  storage: string;
  now: string;
  /** why the admin api was not used */
  adminApi: string;
  spool: SpoolStats & { oldestAgeSeconds: number | null };
  teleport: TeleportDiskState | null;
  /** backfill jobs stored (progress unknown while none runs) */
  backfill?: JobView[];
  warnings: string[];
}

export interface TeleportDiskState {
  startTime: string | null;
  /** the UTC date the export cursor is on */
  exportDate: string | null;
  /** export chunks of that date: complete, and partly sent */
  chunksDone: number;
  chunksInProgress: number;
  /** legacy search cursor: window start and last sent event id */
  legacy: { windowStart: string | null; lastEventId: string | null } | null;
  /** recordings still to stream */
  sessionsPending: number;
}

const DEFAULT_TIMEOUT_MS = 5000; // 5 s, as the admin client's own default

export async function runStatus(o: RunStatusOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const config = loadConfig({ file: o.configFile, env: o.env, flags: o.flags, partial: true });
  const base = o.url !== undefined ? normalizeBaseUrl(o.url) : adminBaseUrl(config);
  let adminApi: string;
  if (base) {
    const got = await fetchAdmin(base, '/status', { timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    if (got.ok) {
      const doc = got.body as StatusDoc;
      if (o.json) o.out.write(JSON.stringify(doc, null, 2) + '\n');
      else o.out.write(renderStatus(doc, { url: base, storage: config.storage }));
      return 0;
    }
    adminApi = `admin API at ${base} unreachable (${got.reason})`;
  } else {
    adminApi = 'admin API disabled (admin.enabled = false)';
  }

  let disk: DiskStatus;
  try {
    disk = await readStorage(config.storage, spoolSettingsOf(config), adminApi, now());
  } catch (err) {
    if (isLocked(err)) {
      throw new StorageError(
        `the forwarder is running with storage ${config.storage} (LevelDB lock held), but its ${adminApi}; ` +
          'check admin.enabled, admin.host and admin.port of the running forwarder, or pass --url',
        { cause: err },
      );
    }
    throw err;
  }
  if (o.json) o.out.write(JSON.stringify(disk, null, 2) + '\n');
  else o.out.write(renderDiskStatus(disk));
  return 0;
}

// ---- admin api client ----

/** http://host:port of the admin api from the config; a wildcard listen address is reached on loopback */
// ---- storage ----

export function isLocked(err: unknown): boolean {
  return levelCode(err) === 'LEVEL_LOCKED';
}

/** true when dir holds a LevelDB store; we never create one just to look at it */
export function hasStore(dir: string): boolean {
  // data files without CURRENT are a damaged spool, not none: say so rather than "no spool in dir"
  const damaged = refuseBeforeOpen(dir);
  if (damaged) throw damaged;
  return existsSync(join(dir, 'CURRENT'));
}

/** open the spool read-mostly (open scans, writes nothing of its own), summarize, close. throws StorageError */
export async function readStorage(
  dir: string,
  spoolSettings: { maxBytes: number; syncIntervalMs: number },
  adminApi: string,
  now: number,
): Promise<DiskStatus> {
  if (!hasStore(dir)) {
    throw new StorageError(
      `nothing to read: the ${adminApi}, and there is no spool in ${dir} (wrong --storage or --config?)`,
    );
  }
  const spool = await openSpool({ path: dir, ...spoolSettings });
  try {
    const stats = spool.stats();
    const rows = await spool.listState(PREFIX);
    const oldestAgeSeconds =
      stats.oldestAppendedAt === null ? null : Math.max(0, (now - stats.oldestAppendedAt) / 1000);
    const withAge = { ...stats, oldestAgeSeconds };
    return {
      source: 'storage',
      storage: dir,
      now: new Date(now).toISOString(),
      adminApi,
      spool: withAge,
      teleport: teleportState(rows),
      backfill: (await storedJobs(spool)).map(storedView),
      warnings: spoolWarnings(withAge),
    };
  } finally {
    await spool.close();
  }
}

/** the poller's cursor keys (see sources/teleport/state.ts), summarized. pure */
export function teleportState(rows: ReadonlyArray<{ key: string; value: string }>): TeleportDiskState | null {
  if (rows.length === 0) return null;
  const byKey = new Map(rows.map((r) => [r.key, r.value] as const));
  const exportDate = byKey.get(K.exportDate) ?? null;
  let chunksDone = 0;
  let chunksInProgress = 0;
  let sessionsPending = 0;
  const chunkPrefix = exportDate ? K.chunkPrefix(exportDate) : null;
  for (const { key, value } of rows) {
    if (key.startsWith(K.sessionPrefix)) sessionsPending++;
    else if (chunkPrefix && key.startsWith(chunkPrefix)) {
      if (parseJson<{ done?: boolean }>(value)?.done === true) chunksDone++;
      else chunksInProgress++;
    }
  }
  let legacy: TeleportDiskState['legacy'] = null;
  const legacyText = byKey.get(K.legacy);
  if (legacyText !== undefined) {
    const l = parseJson<{ w?: number; id?: string }>(legacyText);
    legacy = {
      windowStart: typeof l?.w === 'number' && Number.isFinite(l.w) ? new Date(l.w).toISOString() : null,
      lastEventId: typeof l?.id === 'string' && l.id !== '' ? l.id : null,
    };
  }
  return {
    startTime: byKey.get(K.startTime) ?? null,
    exportDate,
    chunksDone,
    chunksInProgress,
    legacy,
    sessionsPending,
  };
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

// ---- rendering (pure) ----

/** the live document as lines a person reads */
export function renderStatus(doc: StatusDoc, context: { url?: string; storage?: string } = {}): string {
  const lines: string[] = [];
  const degraded = doc.checks.filter((c) => c.state === 'degraded').map((c) => c.name);
  lines.push(
    `teleport-datadog-forwarder ${clean(doc.version)} (pid ${doc.pid}), up ${formatDuration(doc.uptimeSeconds)}: ${doc.ready ? 'ready' : 'NOT READY'}${degraded.length > 0 ? `, degraded: ${degraded.join(', ')}` : ''}`,
  );
  if (context.url) lines.push(`admin API: ${clean(context.url)}`);
  if (context.storage && doc.config.storage !== context.storage) {
    lines.push(
      `note: this forwarder uses storage ${clean(doc.config.storage)}, not ${clean(context.storage)} from your configuration`,
    );
  }
  lines.push('checks:');
  // a forwarder older than the state field has ok only
  const mark = (c: StatusDoc['checks'][number]) =>
    (c.state ?? (c.ok ? 'ok' : 'failing')) === 'ok' ? 'ok  ' : c.state === 'degraded' ? 'WARN' : 'FAIL';
  for (const c of doc.checks) lines.push(`  ${mark(c)}  ${c.name.padEnd(9)} ${clean(c.detail)}`);

  if (doc.spool) lines.push(spoolLine(doc.spool));
  else lines.push('spool: not open');
  lines.push(`dead letters: ${doc.deadLetters ?? 'unknown'}`);

  if (doc.teleport) {
    const t = doc.teleport;
    const where = t.date ? `cursor on ${clean(t.date)}` : 'cursor not placed yet';
    lines.push(
      `teleport: ${t.state}${t.mode ? ` (${t.mode})` : ''}, ${where}${t.caughtUp ? ', caught up' : ''}; ` +
        `${t.eventsEmitted} events, ${t.sessionEventsEmitted} session events; sessions ${t.sessionsActive} active, ${t.sessionsPending} pending, ` +
        `${t.sessionsFinished} finished, ${t.sessionsGivenUp} given up; ${t.locksUpserted} locks`,
    );
    if (t.lastEventAt) lines.push(`  last event ${t.lastEventAt} (lag ${formatDuration(t.exportLagSeconds ?? 0)})`);
    if (t.identity) {
      const left = t.identityExpiresInSeconds;
      const when =
        left === null
          ? `expires ${clean(t.identity.notAfter)}`
          : left <= 0
            ? 'EXPIRED'
            : `expires in ${formatDuration(left)}`;
      lines.push(
        `  identity ${clean(t.identity.file)}${t.identity.user ? ` (${clean(t.identity.user)})` : ''}: ${when}`,
      );
    }
  } else if (doc.config.teleport.enabled) {
    lines.push('teleport: not started');
  }

  if (doc.datadog) {
    const d = doc.datadog;
    const r = d.retries;
    lines.push(
      `datadog: ${d.delivered} delivered, ${d.deadLettered} dead-lettered, ${d.requests} requests (${d.inFlightRequests} in flight); ` +
        `retries 4xx ${r['4xx']}, 429 ${r['429']}, 5xx ${r['5xx']}, network ${r.network}, other ${r.other}${d.authFailing ? '; API KEY REFUSED' : ''}`,
    );
  } else if (doc.config.dryRun) {
    lines.push('datadog: dry run, nothing is shipped');
  }

  if (doc.ingest) {
    const at = doc.ingest.address
      ? `listening on ${hostPort(doc.ingest.address.host, doc.ingest.address.port)}`
      : 'not listening';
    const s = doc.ingest.stats;
    const ack =
      doc.config.ingest.ack === 'written'
        ? `acks once written (fsync within ${doc.config.ingest.syncIntervalMs} ms)`
        : 'acks once fsynced';
    lines.push(
      `ingest: ${at}${
        s
          ? `; ${s.requests} requests, ${s.records} records, ${s.status4xx} 4xx, ${s.status5xx} 5xx (${s.status503} 503), ` +
            `${s.tlsFailed + s.tlsRefused} TLS refusals`
          : ''
      }; ${ack}`,
    );
  }

  pushJobs(lines, doc.backfill);

  if (doc.lastErrors.length > 0) {
    lines.push('last errors:');
    for (const e of doc.lastErrors) {
      lines.push(
        `  ${e.component}${e.status ? ` (${e.status})` : ''}${e.at ? ` at ${e.at}` : ''}: ${clean(e.message).slice(0, 500)}`,
      );
    }
  }
  pushWarnings(lines, doc.warnings);
  return lines.join('\n') + '\n';
}

/** what the storage directory holds, as lines a person reads */
export function renderDiskStatus(d: DiskStatus): string {
  const lines: string[] = [];
  lines.push(
    `the forwarder is not running: ${clean(d.adminApi)}, and storage ${clean(d.storage)} is not locked; read from disk:`,
  );
  lines.push(spoolLine(d.spool));
  lines.push(`dead letters: ${d.spool.deadLetters}`);
  const t = d.teleport;
  if (t) {
    const parts: string[] = [];
    if (t.startTime) parts.push(`start time ${clean(t.startTime)}`);
    if (t.exportDate)
      parts.push(
        `export cursor on ${clean(t.exportDate)} (${t.chunksDone} chunks done, ${t.chunksInProgress} in progress)`,
      );
    if (t.legacy)
      parts.push(
        `legacy cursor at window ${t.legacy.windowStart ?? '?'}${t.legacy.lastEventId ? `, after event ${clean(t.legacy.lastEventId)}` : ''}`,
      );
    parts.push(`${t.sessionsPending} session recordings still to stream`);
    lines.push(`teleport: ${parts.join('; ')}`);
  } else {
    lines.push('teleport: no poller state stored');
  }
  pushJobs(lines, d.backfill);
  pushWarnings(lines, d.warnings);
  return lines.join('\n') + '\n';
}

function spoolLine(s: SpoolStats & { oldestAgeSeconds: number | null }): string {
  const pct = s.maxBytes > 0 ? Math.floor((s.bytes / s.maxBytes) * 100) : 0;
  const oldest = s.oldestAgeSeconds === null ? 'empty' : `oldest queued ${formatDuration(s.oldestAgeSeconds)} ago`;
  return `spool: ${s.records} records, ${formatBytes(s.bytes)} of ${formatBytes(s.maxBytes)} (${pct}%), ${s.inFlight} in flight; ${oldest}`;
}

function pushJobs(lines: string[], jobs: readonly JobView[] | undefined): void {
  if (!jobs || jobs.length === 0) return;
  lines.push('backfill jobs:');
  for (const j of jobs) lines.push(`  ${clean(jobLine(j))}`);
}

function pushWarnings(lines: string[], warnings: readonly string[]): void {
  if (warnings.length === 0) return;
  lines.push('warnings:');
  for (const w of warnings) lines.push(`  ! ${clean(w)}`);
}

/** what opening the spool takes from the config: its bound and the background sync of written appends */
export function spoolSettingsOf(config: Readonly<Config>): { maxBytes: number; syncIntervalMs: number } {
  return { maxBytes: config.spool.maxBytes, syncIntervalMs: config.ingest.syncIntervalMs };
}
