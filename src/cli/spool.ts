// `spool stats | ls --dead | replay --dead | purge --dead | repair`: the spool and its dead letters.
// LevelDB admits one process at a time. so: with the forwarder stopped, we open the storage directory ourselves;
// while it runs (the directory is locked), we go through its admin api (/status and /spool/dead*, loopback only),
// after checking that the api belongs to the forwarder using this storage. with neither, we refuse and say why.
// an explicit --url goes to the admin api first. `repair` (src/spool/repair.ts) works on the directory only, with the
// forwarder stopped.
import { loadConfig } from '../config/load.js';
import { ConfigError, StorageError } from '../errors.js';
import { parseDuration, parseTime } from '../config/values.js';
import { repairStorage } from '../spool/repair.js';
import { openSpool } from '../spool/spool.js';
import { innermostMessage, levelCode } from '../spool/storage-errors.js';
import type { DeadLetter, Spool, SpoolStats } from '../spool/types.js';
import { clean, formatBytes, formatDuration } from '../format.js';
import { spoolWarnings, walWarnings } from '../spool/health.js';
import type { StatusDoc } from '../telemetry/status.js';
import { adminBaseUrl, fetchAdmin, normalizeBaseUrl } from '../telemetry/admin-client.js';
import {
  hasStore,
  isLocked,
  readStorage,
  renderDiskStatus,
  spoolSettingsOf,
  type DiskStatus,
  type Output,
} from './status.js';

export type SpoolAction = 'stats' | 'ls' | 'replay' | 'purge' | 'repair';

export interface RunSpoolOptions {
  action: SpoolAction;
  /** work on dead letters (required by ls, replay and purge) */
  dead: boolean;
  /** replay only these dead-letter keys */
  id?: string[];
  /** purge dead letters dead-lettered before this: RFC 3339, or an age like "7d", "24h", "30m" */
  before?: string;
  /** ls: how many to show; default 100 */
  limit?: number;
  configFile?: string;
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** admin api base url; default from the config */
  url?: string;
  out: Output;
  now?: () => number;
}

export const SPOOL_CLI_DEFAULTS = Object.freeze({
  limit: 100,
  maxLimit: 1000, // the admin api's page bound
  previewChars: 160,
  reasonChars: 200,
  timeoutMs: 30_000,
});

/** what the commands need, from an open spool or from the admin api */
interface Backend {
  /** where the answers come from, for the output */
  via: string;
  running: boolean;
  stats(): Promise<SpoolStats & { oldestAgeSeconds: number | null }>;
  listDead(limit: number): Promise<DeadLetter[]>;
  replayDead(keys?: string[]): Promise<number>;
  purgeDead(before: number): Promise<number>;
  close(): Promise<void>;
}

export async function runSpool(o: RunSpoolOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const request = checkRequest(o, now());
  const config = loadConfig({ file: o.configFile, env: o.env, flags: o.flags, partial: true });
  const storage = config.storage;
  if (o.action === 'repair') return runRepair(o.out, storage, spoolSettingsOf(config), now);
  const base = o.url !== undefined ? normalizeBaseUrl(o.url) : adminBaseUrl(config);

  let backend: Backend | undefined;
  // an explicit --url is asked first, and only once
  const askAdmin = o.url === undefined && base !== null;
  if (o.url !== undefined) backend = await adminBackend(base!, storage, now);
  if (!backend && !hasStore(storage)) {
    // the storage may live where only the forwarder sees it (a container); a forwarder using another one says so
    if (askAdmin) backend = await adminBackend(base, storage, now);
    if (!backend) {
      throw new StorageError(
        `there is no spool in ${storage}: point --storage (or --config) at the forwarder's storage directory`,
      );
    }
  }
  if (!backend) {
    try {
      backend = localBackend(await openSpool({ path: storage, ...spoolSettingsOf(config) }), storage, now);
    } catch (err) {
      if (!isLocked(err)) throw err;
      const viaAdmin = askAdmin ? await adminBackend(base, storage, now) : undefined;
      if (!viaAdmin) {
        const why = base
          ? `its admin API at ${base} did not answer`
          : 'its admin API is disabled here (admin.enabled = false)';
        throw new StorageError(
          `the forwarder is running with storage ${storage}: stop it first, or use its admin API (${why}; ` +
            'pass --url if it listens elsewhere)',
          { cause: err },
        );
      }
      backend = viaAdmin;
    }
  }

  let code: number;
  try {
    code = await perform(o, request, backend);
    // damage found when this command opened the store (or kept from before) is said whatever the action
    if (o.action !== 'stats') for (const w of walWarnings(await backend.stats())) o.out.write(`! ${clean(w)}\n`);
  } finally {
    await backend.close();
  }
  return code;
}

interface Request {
  limit: number;
  before: number | null;
}

/** usage errors before anything is opened */
function checkRequest(o: RunSpoolOptions, now: number): Request {
  if (!['stats', 'ls', 'replay', 'purge', 'repair'].includes(o.action)) {
    throw new ConfigError(`unknown spool action "${o.action}": use stats, ls, replay, purge or repair`);
  }
  if (o.action === 'repair') {
    if (o.dead) throw new ConfigError('spool repair works on the whole store: drop --dead');
    if (o.url !== undefined)
      throw new ConfigError(
        'spool repair works on the storage directory with the forwarder stopped, not through its admin API: drop --url',
      );
  }
  if (o.action !== 'stats' && o.action !== 'repair' && !o.dead) {
    throw new ConfigError(
      `spool ${o.action} works on dead letters: add --dead (the queue itself is summarized by \`spool stats\`)`,
    );
  }
  if (o.id !== undefined && o.id.length > 0 && o.action !== 'replay')
    throw new ConfigError('--id goes with `spool replay --dead`');
  if (o.before !== undefined && o.action !== 'purge') throw new ConfigError('--before goes with `spool purge --dead`');
  const limit = o.limit ?? SPOOL_CLI_DEFAULTS.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > SPOOL_CLI_DEFAULTS.maxLimit) {
    throw new ConfigError(
      `--limit must be a whole number from 1 to ${SPOOL_CLI_DEFAULTS.maxLimit}, got ${String(o.limit)}`,
    );
  }
  let before: number | null = null;
  if (o.action === 'purge') {
    if (o.before === undefined || o.before === '') {
      throw new ConfigError(
        'spool purge --dead needs --before: an RFC 3339 time, or an age like 7d or 24h (--before 0s purges all)',
      );
    }
    before = parseBefore(o.before, now);
  }
  return { limit, before };
}

/** an RFC 3339 time, or an age ("7d", "24h", "1h30m", "2w") counted back from now, to epoch ms. pure */
export function parseBefore(input: string, now: number): number {
  const s = input.trim();
  const days = /^(\d+(?:\.\d+)?)(d|w)$/.exec(s);
  if (days) return now - Math.round(Number(days[1]) * (days[2] === 'w' ? 7 : 1) * 86_400_000);
  if (/^\d{4}-\d\d-\d\d/.test(s)) {
    try {
      return parseTime(s).getTime();
    } catch (err) {
      throw new ConfigError(`--before: ${(err as Error).message}`);
    }
  }
  try {
    return now - parseDuration(s);
  } catch {
    throw new ConfigError(
      `--before: expected an RFC 3339 time like "2024-05-01T00:00:00Z" or an age like "7d", "24h" or "30m", got ${JSON.stringify(input)}`,
    );
  }
}

/** the exit code: 1 when replay was given keys that are not dead letters, so a script notices a mistyped key */
async function perform(o: RunSpoolOptions, r: Request, b: Backend): Promise<number> {
  const out = o.out;
  switch (o.action) {
    case 'stats':
      writeStats(out, b.via, await b.stats());
      return 0;
    case 'ls': {
      const letters = await b.listDead(r.limit);
      for (const d of letters) out.write(formatDeadLetter(d));
      if (letters.length === 0) out.write('no dead letters\n');
      else if (letters.length === r.limit)
        out.write(
          `showing the first ${letters.length}; raise --limit (up to ${SPOOL_CLI_DEFAULTS.maxLimit}) to see more\n`,
        );
      else out.write(`${letters.length} dead letter${letters.length === 1 ? '' : 's'}\n`);
      return 0;
    }
    case 'replay': {
      const keys = o.id !== undefined && o.id.length > 0 ? [...new Set(o.id)] : undefined;
      const n = await b.replayDead(keys);
      out.write(
        `moved ${n} dead letter${n === 1 ? '' : 's'} back to the queue; ${b.running ? 'the forwarder delivers them now' : 'they are delivered at the next start'}\n`,
      );
      if (keys && n < keys.length) {
        const missing = keys.length - n;
        out.write(
          `${missing} of the given keys ${missing === 1 ? 'is not a dead letter' : 'are not dead letters'} (already replayed or purged, or mistyped?)\n`,
        );
        return 1;
      }
      if (!keys) {
        const left = (await b.stats()).deadLetters;
        if (left > 0)
          out.write(
            `${left} dead letter${left === 1 ? '' : 's'} left: the spool filled up, or Datadog refused them again meanwhile; run replay again once the spool has room\n`,
          );
      }
      return 0;
    }
    case 'purge': {
      const n = await b.purgeDead(r.before!);
      out.write(
        `purged ${n} dead letter${n === 1 ? '' : 's'} dead-lettered before ${new Date(r.before!).toISOString()}\n`,
      );
      return 0;
    }
    case 'repair':
      throw new ConfigError('spool repair does not go through a backend'); // runSpool calls runRepair before
  }
}

/** what `spool stats` prints */
function writeStats(out: Output, via: string, s: SpoolStats & { oldestAgeSeconds: number | null }): void {
  const pct = s.maxBytes > 0 ? Math.floor((s.bytes / s.maxBytes) * 100) : 0;
  out.write(`storage: ${clean(via)}\n`);
  out.write(
    `records: ${s.records} (${formatBytes(s.bytes)} of ${formatBytes(s.maxBytes)}, ${pct}%), ${s.inFlight} in flight\n`,
  );
  out.write(
    `oldest: ${s.oldestAgeSeconds === null ? 'none (the spool is empty)' : `queued ${formatDuration(s.oldestAgeSeconds)} ago`}\n`,
  );
  out.write(`dead letters: ${s.deadLetters}\n`);
  for (const w of spoolWarnings(s)) out.write(`! ${clean(w)}\n`);
}

/**
 * `spool repair`: copy aside, repair, then open the store the way `start` does and say what it holds now. exit 0
 * when it opens; a StorageError (exit 2) with the reason and the copy's path when it still does not
 */
async function runRepair(
  out: Output,
  storage: string,
  spoolSettings: ReturnType<typeof spoolSettingsOf>,
  now: () => number,
): Promise<number> {
  const r = await repairStorage(storage, new Date(now()));
  out.write(`copied ${clean(r.storage)} as it was to ${clean(r.backup)}\n`);
  out.write(
    `LevelDB rebuilt the store from the table and log files it could read` +
      `${r.lost ? `; the files it replaced or could not read are in ${clean(r.lost)} (the copy has them too)` : ''}\n`,
  );
  let disk: DiskStatus;
  try {
    disk = await readStorage(r.storage, spoolSettings, 'spool repair', now());
  } catch (err) {
    if (levelCode(err) === 'LEVEL_LOCKED') {
      throw new StorageError(
        `the repair of ${r.storage} finished, but a forwarder opened the store before it could be read back: see its ` +
          `\`status\` (the directory as it was before the repair is in ${r.backup})`,
        { cause: err },
      );
    }
    throw new StorageError(
      `the repaired storage ${r.storage} still cannot be opened (${innermostMessage(err)}): move it aside and start with an ` +
        `empty --storage; the directory as it was before the repair is in ${r.backup}`,
      { cause: err },
    );
  }
  writeStats(out, `${r.storage} (opened after the repair)`, disk.spool);
  // the poller's cursors as `status` shows them from disk
  const poller = renderDiskStatus(disk)
    .split('\n')
    .find((line) => line.startsWith('teleport: '));
  if (poller) out.write(`${poller}\n`);
  out.write(
    'start the forwarder again (teleport-datadog-forwarder start, as before) to deliver what is queued. records or cursors ' +
      'in files LevelDB could not read are gone; a record delivered before the damage may come back and reach Datadog twice\n',
  );
  return 0;
}

/** one dead letter: key, when, status, reason, then a short preview of the log. pure */
export function formatDeadLetter(d: DeadLetter): string {
  const at = d.at > 0 ? new Date(d.at).toISOString() : 'unknown time';
  const reason = cut(clean(d.reason), SPOOL_CLI_DEFAULTS.reasonChars);
  const preview = cut(clean(d.value), SPOOL_CLI_DEFAULTS.previewChars);
  return `${clean(d.key)}  ${at}  status ${d.status ?? '-'}  ${reason}\n    ${preview}\n`;
}

function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

function localBackend(spool: Spool, storage: string, now: () => number): Backend {
  return {
    via: `${storage} (opened directly: the forwarder is not running)`,
    running: false,
    async stats() {
      const s = spool.stats();
      return {
        ...s,
        oldestAgeSeconds: s.oldestAppendedAt === null ? null : Math.max(0, (now() - s.oldestAppendedAt) / 1000),
      };
    },
    listDead: (limit) => spool.listDead({ limit }),
    replayDead: (keys) => spool.replayDead(keys),
    purgeDead: (before) => spool.purgeDead(before),
    close: () => spool.close(),
  };
}

/** the running forwarder's admin api, once it proved to use this storage; undefined when it does not answer */
async function adminBackend(base: string, storage: string, now: () => number): Promise<Backend | undefined> {
  const status = await fetchAdmin(base, '/status');
  if (!status.ok) return undefined;
  const doc = status.body as StatusDoc;
  if (doc?.config?.storage !== storage) {
    throw new StorageError(
      `the forwarder behind ${base} uses storage ${String(doc?.config?.storage)}, not ${storage}: ` +
        'pass the --url of the forwarder that uses this storage (or the --storage / --config it runs with)',
    );
  }
  const call = async (path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const got = await fetchAdmin(
      base,
      path,
      body === undefined
        ? { timeoutMs: SPOOL_CLI_DEFAULTS.timeoutMs }
        : { method: 'POST', body, timeoutMs: SPOOL_CLI_DEFAULTS.timeoutMs },
    );
    if (!got.ok) {
      const hint = got.status === 404 ? ' (this forwarder has no spool endpoints)' : '';
      throw new StorageError(`the admin API at ${base} refused ${path}: ${got.reason}${hint}`);
    }
    return got.body as Record<string, unknown>;
  };
  return {
    via: `${storage} (through the running forwarder's admin API at ${base})`,
    running: true,
    async stats() {
      const fresh = (await call('/status')) as unknown as StatusDoc;
      if (!fresh.spool) throw new StorageError(`the forwarder behind ${base} reports its spool as not open`);
      const s = fresh.spool;
      return {
        records: s.records,
        bytes: s.bytes,
        maxBytes: s.maxBytes,
        inFlight: s.inFlight,
        deadLetters: s.deadLetters,
        oldestAppendedAt: s.oldestAppendedAt,
        oldestAgeSeconds: s.oldestAppendedAt === null ? null : Math.max(0, (now() - s.oldestAppendedAt) / 1000),
        walDamage: s.walDamage ?? null,
        walDamageKept: s.walDamageKept ?? [],
      };
    },
    async listDead(limit) {
      return (await call(`/spool/dead?limit=${limit}`)).deadLetters as DeadLetter[];
    },
    async replayDead(keys) {
      return Number((await call('/spool/dead/replay', keys === undefined ? {} : { ids: keys })).replayed);
    },
    async purgeDead(before) {
      return Number((await call('/spool/dead/purge', { before })).purged);
    },
    close: async () => {},
  };
}
