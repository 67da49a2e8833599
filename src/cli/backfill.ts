// `backfill --from T1 --to T2 | backfill ls | backfill cancel ID`. the storage admits one writer: while the
// forwarder runs, the job is submitted through its admin api and runs there; with the forwarder stopped, this
// command takes the storage and runs the job to the end itself (spool and sink as `start` has them, no ingest, no
// live poller), then waits until Datadog has what it queued. a job stopped half-way (ctrl-c, kill -9, a restart)
// resumes at the next start, or when the same range is asked again.
import { loadConfig, type Config } from '../config/load.js';
import { ConfigError, StorageError } from '../errors.js';
import { createLogger } from '../telemetry/logger.js';
import { startApp, type App } from '../app.js';
import { resolveRange } from '../backfill/range.js';
import { jobLine, progressBar } from '../backfill/render.js';
import {
  cancelStoredJob,
  storedJobs,
  storedView,
  type BackfillRequest,
  type JobView,
  type Plan,
} from '../backfill/manager.js';
import { openSpool } from '../spool/spool.js';
import type { Spool } from '../spool/types.js';
import { pino } from 'pino';
import { hasStore, isLocked, spoolSettingsOf, type Output } from './status.js';
import { adminBaseUrl, fetchAdmin, normalizeBaseUrl } from '../telemetry/admin-client.js';
import { clean } from '../format.js';
import { sleep } from '../sleep.js';
import type { StatusDoc } from '../telemetry/status.js';

export type BackfillAction = 'run' | 'ls' | 'cancel';

export interface RunBackfillOptions {
  action: BackfillAction;
  id?: string;
  from?: string;
  to?: string;
  types?: string[];
  skipEventTypes?: string[];
  sessions?: boolean;
  allowDuplicates?: boolean;
  /** through the admin api: submit and return, without following the job */
  detach?: boolean;
  configFile?: string;
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  url?: string;
  out: Output & { isTTY?: boolean };
  now?: () => number;
}

export const BACKFILL_CLI = Object.freeze({
  pollMs: 1_000,
  /** plain progress lines (no terminal) this often */
  lineEveryMs: 10_000,
  timeoutMs: 30_000,
});

/** the job list, from the running forwarder or from the storage */
interface Jobs {
  via: string;
  running: boolean;
  plan(req: BackfillRequest): Promise<Plan>;
  submit(req: BackfillRequest): Promise<JobView>;
  list(): Promise<JobView[]>;
  cancel(id: string): Promise<JobView>;
  close(): Promise<void>;
}

export async function runBackfill(o: RunBackfillOptions): Promise<number> {
  const now = o.now ?? Date.now;
  checkUsage(o);
  const range = o.action === 'run' ? resolveRange(o.from, o.to, now()) : undefined;
  const config = loadConfig({ file: o.configFile, env: o.env, flags: o.flags, partial: o.action !== 'run' });
  if (!config.teleport.enabled)
    throw new ConfigError(
      'backfill reads the Teleport audit log: set teleport.enabled with its address and identity (as for the live poller)',
    );
  if (config.dryRun) throw new ConfigError('backfill writes to the spool: drop --dry-run');
  // the live poller's type settings apply unless the job gives its own
  const req: BackfillRequest | undefined = range && {
    ...range,
    types: o.types ? list(o.types) : [...config.teleport.types],
    skipEventTypes: o.skipEventTypes ? list(o.skipEventTypes) : [...config.teleport.skipEventTypes],
    sessions: o.sessions ?? false,
    allowDuplicates: o.allowDuplicates ?? false,
  };

  // with the storage free, this process holds it; else the running forwarder does the work. our logs go to
  // stderr: stdout is the progress
  const logger = createLogger({ level: config.logLevel }, pino.destination({ dest: 2, sync: true }));
  let app: App | undefined;
  let jobs: Jobs | undefined;
  if (o.url === undefined) {
    try {
      if (o.action === 'run') app = await startApp(config, { logger, backfillOnly: true });
      // ls and cancel read what is there: a missing storage is not created (the forwarder may run elsewhere)
      else if (hasStore(config.storage))
        jobs = storedJobsOf(await openSpool({ path: config.storage, ...spoolSettingsOf(config) }), config);
    } catch (err) {
      if (!isLocked(err)) throw err;
    }
  }
  if (app) jobs = localJobs(app, config);
  jobs ??= await adminJobs(o, config);
  try {
    if (o.action === 'ls') {
      const list = await jobs.list();
      if (list.length === 0) o.out.write('no backfill jobs\n');
      for (const j of list) o.out.write(clean(jobLine(j)) + '\n');
      return 0;
    }
    if (o.action === 'cancel') {
      const j = await jobs.cancel(o.id!);
      o.out.write(`cancelled ${j.id} (${j.events} events shipped; what it queued is still delivered)\n`);
      return 0;
    }
    const plan = await jobs.plan(req!);
    o.out.write(clean(plan.message) + '\n');
    const job = await jobs.submit({ ...req!, ...plan.range });
    o.out.write(`job ${job.id} ${plan.resumes ? 'resumed' : 'started'} (${jobs.via})\n`);
    if (jobs.running && o.detach) {
      o.out.write('it runs in the forwarder: `backfill ls` or `status` show its progress\n');
      return 0;
    }
    return await follow(o, jobs, job.id, app);
  } finally {
    await jobs.close();
  }
}

/** --types a,b --types c: one list */
const list = (v: string[]): string[] =>
  v
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter(Boolean);

function checkUsage(o: RunBackfillOptions): void {
  if (o.action === 'cancel' && !o.id) throw new ConfigError('backfill cancel needs the job id: see `backfill ls`');
  if (o.action !== 'run') {
    for (const [flag, v] of Object.entries({ from: o.from, to: o.to })) {
      if (v !== undefined) throw new ConfigError(`--${flag} goes with \`backfill --from T1 --to T2\`, not ${o.action}`);
    }
  } else if (o.id !== undefined)
    throw new ConfigError(`unknown backfill action "${clean(o.id).slice(0, 40)}": use ls or cancel`);
}

/** shows the job's progress until it ends; offline, then waits for the spool to be delivered */
async function follow(o: RunBackfillOptions, jobs: Jobs, id: string, app: App | undefined): Promise<number> {
  const tty = o.out.isTTY === true;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let lastLine = 0;
  let job: JobView | undefined;
  try {
    for (;;) {
      job = (await jobs.list()).find((j) => j.id === id);
      if (!job) throw new StorageError(`backfill job ${id} is gone from the storage`);
      const ended = job.state !== 'running';
      if (tty) o.out.write(`\r${progressBar(job)}`);
      else if (ended || Date.now() - lastLine >= BACKFILL_CLI.lineEveryMs) {
        o.out.write(clean(jobLine(job)) + '\n');
        lastLine = Date.now();
      }
      if (ended || interrupted) break;
      await sleep(BACKFILL_CLI.pollMs);
    }
    if (tty) o.out.write('\n');
    if (interrupted && job!.state === 'running') {
      o.out.write(
        jobs.running
          ? `stopped following: job ${id} keeps running in the forwarder\n`
          : `interrupted: job ${id} stops here and resumes at the next start, or when this range is asked again\n`,
      );
      return 1;
    }
    if (app) {
      // what the job queued is in the spool: delivered before this process lets go of the storage
      let said = 0;
      while (!interrupted && app.spool.stats().records > 0) {
        if (Date.now() - said > BACKFILL_CLI.lineEveryMs) {
          o.out.write(`waiting for Datadog to accept ${app.spool.stats().records} queued records\n`);
          said = Date.now();
        }
        await sleep(100);
      }
      const left = app.spool.stats().records;
      if (left > 0) {
        o.out.write(`job ${id} ${job!.state}; interrupted with ${left} records queued: the next start delivers them\n`);
        return 1;
      }
    }
    if (job!.state === 'failed') {
      o.out.write(`job ${id} failed: ${clean(job!.lastError ?? 'see the logs')}\n`);
      return 1;
    }
    o.out.write(
      `job ${id} ${job!.state}: ${job!.events} events${job!.sessions ? `, ${job!.sessionEvents} session events` : ''}\n`,
    );
    return job!.state === 'done' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** ls and cancel with the forwarder stopped: the storage opened for this command alone */
function storedJobsOf(spool: Spool, config: Readonly<Config>): Jobs {
  const refuse = () => Promise.reject(new Error('not here'));
  return {
    via: `storage ${config.storage}`,
    running: false,
    plan: refuse,
    submit: refuse,
    list: async () => (await storedJobs(spool)).map(storedView),
    cancel: async (id) => storedView(await cancelStoredJob(id, spool, Date.now())),
    close: () => spool.close(),
  };
}

function localJobs(app: App, config: Readonly<Config>): Jobs {
  const m = app.backfill!;
  return {
    via: `storage ${config.storage}, run by this command: the forwarder is not running`,
    running: false,
    plan: (req) => m.plan(req),
    submit: async (req) => (await m.submit(req)).job,
    list: () => m.list(),
    cancel: (id) => m.cancel(id),
    async close() {
      await app.stop(app.backfill!.active() > 0 ? 'backfill interrupted' : 'backfill finished');
    },
  };
}

async function adminJobs(o: RunBackfillOptions, config: Readonly<Config>): Promise<Jobs> {
  const base = o.url !== undefined ? normalizeBaseUrl(o.url) : adminBaseUrl(config);
  const noStore = () =>
    new StorageError(
      `there is no spool in ${config.storage} and no forwarder answers: point --storage (or --config) at the forwarder's storage directory`,
    );
  if (!base && !hasStore(config.storage)) throw noStore();
  if (!base) {
    throw new StorageError(
      `the forwarder is running with storage ${config.storage} and its admin API is disabled (admin.enabled = false): ` +
        'enable it, or stop the forwarder to run the backfill from this command',
    );
  }
  const status = await fetchAdmin(base, '/status');
  if (!status.ok && !hasStore(config.storage)) throw noStore();
  if (!status.ok)
    throw new StorageError(
      `the forwarder is running with storage ${config.storage}, and its admin API at ${base} did not answer (${status.reason}); pass --url if it listens elsewhere`,
    );
  const doc = status.body as StatusDoc;
  if (doc?.config?.storage !== config.storage) {
    throw new StorageError(
      `the forwarder behind ${base} uses storage ${String(doc?.config?.storage)}, not ${config.storage}: pass the --url of the one that does`,
    );
  }
  const call = async (path: string, body?: unknown): Promise<Record<string, any>> => {
    const got = await fetchAdmin(
      base,
      path,
      body === undefined
        ? { timeoutMs: BACKFILL_CLI.timeoutMs }
        : { method: 'POST', body, timeoutMs: BACKFILL_CLI.timeoutMs },
    );
    if (!got.ok) {
      if (got.status === 409) throw new ConfigError(got.reason.replace(/^HTTP 409: /, ''));
      const hint = got.status === 404 ? ' (this forwarder has no backfill endpoints: is the teleport poller on?)' : '';
      throw new StorageError(`the admin API at ${base} refused ${path}: ${got.reason}${hint}`);
    }
    return got.body as Record<string, any>;
  };
  return {
    via: `submitted to the running forwarder at ${base}`,
    running: true,
    plan: async (req) => (await call('/backfill', { ...req, plan: true })).plan as Plan,
    submit: async (req) => (await call('/backfill', req)).job as JobView,
    list: async () => (await call('/backfill')).jobs as JobView[],
    cancel: async (id) => (await call('/backfill/cancel', { id })).job as JobView,
    close: async () => {},
  };
}
