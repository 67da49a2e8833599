// `cursor show` and `cursor set --start-time T`: the live poller's cursor. with the forwarder stopped the storage
// is opened here; while it runs, through its admin api (which restarts its poller from the new cursor). set says
// what will be skipped or sent again and asks first: --yes for scripts; with no terminal and no --yes, it refuses.
import { createInterface } from 'node:readline/promises';
import { loadConfig, type Config } from '../config/load.js';
import { ConfigError, StorageError } from '../errors.js';
import { openSpool } from '../spool/spool.js';
import { PREFIX } from '../sources/teleport/state.js';
import { liveCursor, planCursorMove, type CursorMove, type LiveCursor } from '../backfill/cursor.js';
import { parseWhen } from '../backfill/range.js';
import { hasStore, isLocked, spoolSettingsOf, type Output } from './status.js';
import { adminBaseUrl, fetchAdmin, normalizeBaseUrl } from '../telemetry/admin-client.js';
import { clean } from '../format.js';

export interface RunCursorOptions {
  action: 'show' | 'set';
  startTime?: string;
  yes?: boolean;
  configFile?: string;
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  url?: string;
  out: Output;
  /** asks the question on a terminal; undefined when there is none */
  confirm?: (question: string) => Promise<boolean>;
  now?: () => number;
}

interface CursorBackend {
  via: string;
  show(): Promise<LiveCursor>;
  plan(to: number): Promise<CursorMove>;
  apply(to: number, move: CursorMove): Promise<void>;
  close(): Promise<void>;
}

export async function runCursor(o: RunCursorOptions): Promise<number> {
  const now = o.now ?? Date.now;
  if (o.action === 'set' && (o.startTime === undefined || o.startTime === ''))
    throw new ConfigError('cursor set needs --start-time: an RFC 3339 time, or an age like 7d or 36h');
  if (o.action === 'show' && o.startTime !== undefined) throw new ConfigError('--start-time goes with `cursor set`');
  const to = o.action === 'set' ? parseWhen(o.startTime!, now(), '--start-time') : 0;
  if (to > now())
    throw new ConfigError('--start-time is in the future: the poller would wait for it; use now or earlier');
  const config = loadConfig({ file: o.configFile, env: o.env, flags: o.flags, partial: true });
  const b = await backend(o, config, now);
  try {
    if (o.action === 'show') {
      const c = await b.show();
      o.out.write(`storage: ${clean(b.via)}\n`);
      o.out.write(`start time: ${c.startTime ?? 'not stored yet (the first start stores it)'}\n`);
      o.out.write(`cursor: ${clean(c.describe)}\n`);
      if (c.position !== null) o.out.write(`read up to: ${new Date(c.position).toISOString()}\n`);
      o.out.write(`session recordings still to stream: ${c.sessionsPending}\n`);
      return 0;
    }
    const move = await b.plan(to);
    o.out.write(`storage: ${clean(b.via)}\n`);
    o.out.write(`the live poller will start at ${new Date(to).toISOString()}: ${clean(move.effect)}\n`);
    if (!o.yes) {
      if (!o.confirm)
        throw new ConfigError('cursor set asks for confirmation and there is no terminal to ask on: add --yes');
      if (!(await o.confirm('move the cursor? [y/N] '))) {
        o.out.write('nothing changed\n');
        return 1;
      }
    }
    await b.apply(to, move);
    o.out.write('cursor moved\n');
    return 0;
  } finally {
    await b.close();
  }
}

async function backend(o: RunCursorOptions, config: Readonly<Config>, now: () => number): Promise<CursorBackend> {
  if (o.url === undefined && hasStore(config.storage)) {
    try {
      const spool = await openSpool({ path: config.storage, ...spoolSettingsOf(config) });
      return {
        via: `${config.storage} (opened directly: the forwarder is not running)`,
        show: async () => liveCursor(await spool.listState(PREFIX)),
        plan: async (to) => planCursorMove(await spool.listState(PREFIX), to, now()),
        apply: (_to, move) => spool.putState(move.ops),
        close: () => spool.close(),
      };
    } catch (err) {
      if (!isLocked(err)) throw err;
    }
  }
  const base = o.url !== undefined ? normalizeBaseUrl(o.url) : adminBaseUrl(config);
  if (o.url === undefined && !hasStore(config.storage) && (!base || !(await fetchAdmin(base, '/status')).ok))
    throw new StorageError(
      `there is no spool in ${config.storage} and no forwarder answers: point --storage (or --config) at the forwarder's storage directory`,
    );
  if (!base)
    throw new StorageError(
      `the forwarder is running with storage ${config.storage} and its admin API is disabled: stop it, or enable admin`,
    );
  const call = async (path: string, body?: unknown): Promise<Record<string, any>> => {
    const got = await fetchAdmin(base, path, body === undefined ? {} : { method: 'POST', body, timeoutMs: 60_000 });
    if (!got.ok) throw new StorageError(`the admin API at ${base} refused ${path}: ${got.reason}`);
    return got.body as Record<string, any>;
  };
  return {
    via: `${config.storage} (through the running forwarder's admin API at ${base}; its poller restarts from the new cursor)`,
    show: async () => (await call('/cursor')).cursor as LiveCursor,
    plan: async (to) => (await call('/cursor', { startTime: to, apply: false })).move as CursorMove,
    async apply(to) {
      const r = await call('/cursor', { startTime: to, apply: true });
      if (r.applied !== true) throw new StorageError('the forwarder is stopping: the cursor was not moved');
    },
    close: async () => {},
  };
}

/** a y/N question on the terminal; undefined without one */
export function terminalConfirm(): RunCursorOptions['confirm'] {
  if (!process.stdin.isTTY || !process.stdout.isTTY) return undefined;
  return async (question) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  };
}
