// the backfill jobs of one storage: submitted (from the cli directly, or through the admin api while the service
// runs), listed, cancelled; those left running by a stop or a kill resume when the storage is opened again.
// the range is checked against the live poller's start time first: what the live poller shipped is not sent
// again unless asked (--allow-duplicates).
import { ConfigError } from '../errors.js';
import { K as LIVE } from '../sources/teleport/state.js';
import type { PollerDeps } from '../sources/teleport/source.js';
import { JOB_PREFIX, jobKey, newJobId, parseJob, putJob, sameSpec, type Job, type JobSpec } from './jobs.js';
import { jobCursorOps, startJob, type JobOptions, type JobRunner } from './job.js';
import { fraction, iso, overlapWithLive, pace, showRange, type Overlap, type Range } from './range.js';

export interface BackfillRequest extends JobSpec {
  /** send what the live poller already shipped again */
  allowDuplicates: boolean;
}

export interface Plan {
  /** the range the job will read: as asked, or clipped */
  range: Range;
  overlap: Overlap;
  /** the live poller's start time, when it has one */
  liveStart: string | null;
  /** a sentence for the user: what is read, what is left out and why */
  message: string;
  /** an unfinished job with this spec: resumed, not started again */
  resumes: string | null;
}

/** a job as status and `backfill ls` show it */
export interface JobView extends Job {
  mode: 'export' | 'legacy' | null;
  /** 0..1 of the range read */
  progress: number;
  /** events per second in this run, and seconds left at its pace; null when unknown */
  rate: number | null;
  etaSeconds: number | null;
  lastError: string | null;
}

export interface BackfillManager {
  /** what a request would do (overlap, clipping, resuming), without starting anything */
  plan(req: BackfillRequest): Promise<Plan>;
  /** starts (or resumes) the job; ConfigError when the range is wholly shipped already */
  submit(req: BackfillRequest): Promise<{ job: JobView; plan: Plan }>;
  /** restarts the jobs a stop or kill left running */
  resume(): Promise<number>;
  list(): Promise<JobView[]>;
  cancel(id: string): Promise<JobView>;
  /** jobs running now */
  active(): number;
  /** resolves once no job runs */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type StoreDeps = Pick<PollerDeps, 'getState' | 'listState' | 'putState'>;

/** the stored jobs, oldest first */
export async function storedJobs(deps: StoreDeps): Promise<Job[]> {
  return (await deps.listState(JOB_PREFIX))
    .flatMap((r) => parseJob(r.value) ?? [])
    .sort((a, b) => a.createdAt - b.createdAt);
}

/** a job (not running in this process) marked cancelled, its cursors dropped in the same write */
export async function cancelStoredJob(id: string, deps: StoreDeps, now: number, running?: Job): Promise<Job> {
  const v = await deps.getState(jobKey(id));
  const job = running ?? (v === undefined ? undefined : parseJob(v));
  if (!job) throw new ConfigError(`no backfill job ${JSON.stringify(id.slice(0, 40))}: see \`backfill ls\``);
  if (job.state !== 'running') throw new ConfigError(`backfill job ${id} is ${job.state} already`);
  job.state = 'cancelled';
  job.finishedAt = now;
  await deps.putState([...(await jobCursorOps(id, deps)), putJob(job)]);
  return job;
}

/** a stored job as a view, with no runner to tell its progress */
export function storedView(j: Job): JobView {
  return { ...j, mode: null, progress: j.state === 'done' ? 1 : 0, rate: null, etaSeconds: null, lastError: j.error };
}

export function createBackfillManager(o: JobOptions, deps: PollerDeps): BackfillManager {
  const now = deps.now ?? Date.now;
  const runners = new Map<string, JobRunner>();
  let stopped = false;

  const stored = () => storedJobs(deps);

  function run(job: Job): void {
    const runner = startJob(job, o, deps);
    runners.set(job.id, runner);
    void runner.done.finally(() => {
      if (runners.get(job.id) === runner) runners.delete(job.id);
    });
  }

  function view(job: Job): JobView {
    const r = runners.get(job.id);
    const p = r?.progress();
    const j = r?.job ?? job;
    const f = fraction(j, p?.position, j.state === 'done');
    const speed = p
      ? pace(p.runEvents, p.startedAt, fraction(j, p.startPosition, false), f, now())
      : { rate: null, etaSeconds: null };
    return {
      ...j,
      mode: p?.mode ?? null,
      progress: f,
      rate: j.state === 'running' ? speed.rate : null,
      etaSeconds: j.state === 'running' ? speed.etaSeconds : null,
      lastError: p?.lastError ?? j.error,
    };
  }

  async function plan(req: BackfillRequest): Promise<Plan> {
    const v = await deps.getState(LIVE.startTime);
    const liveStart = v === undefined ? undefined : Date.parse(v);
    const asked = { from: req.from, to: req.to };
    const overlap = overlapWithLive(asked, Number.isFinite(liveStart) ? liveStart : undefined);
    let range: Range = asked;
    let message: string;
    if (overlap.kind === 'none') message = `backfill ${showRange(asked)}`;
    else if (req.allowDuplicates)
      message =
        `backfill ${showRange(asked)}: ${showRange(overlap.kind === 'inside' ? asked : overlap.dropped)} was shipped by the ` +
        'live poller already and is sent again (--allow-duplicates)';
    else if (overlap.kind === 'clipped') {
      range = overlap.range;
      message =
        `backfill ${showRange(range)}: clipped at ${iso(overlap.dropped.from)}, where the live poller starts, since it shipped ` +
        `${showRange(overlap.dropped)} already (--allow-duplicates sends it again)`;
    } else message = `${showRange(asked)} was shipped by the live poller already (it starts at ${iso(liveStart!)})`;
    const spec = { ...req, ...range };
    const open = (await stored()).find((j) => j.state === 'running' && sameSpec(j, spec));
    return {
      range,
      overlap,
      liveStart: v ?? null,
      message: open ? `${message}; resuming job ${open.id}` : message,
      resumes: open?.id ?? null,
    };
  }

  return {
    plan,
    async submit(req) {
      if (stopped) throw new ConfigError('the forwarder is stopping: submit the backfill after it restarts');
      const p = await plan(req);
      if (p.overlap.kind === 'inside' && !req.allowDuplicates) {
        throw new ConfigError(
          `${p.message}: nothing to backfill. to send it again (after a loss on the Datadog side), add --allow-duplicates`,
        );
      }
      if (p.resumes) {
        const job = (await stored()).find((j) => j.id === p.resumes)!;
        if (!runners.has(job.id)) run(job);
        return { job: view(job), plan: p };
      }
      const job: Job = {
        id: newJobId(now()),
        from: p.range.from,
        to: p.range.to,
        types: [...req.types],
        skipEventTypes: [...req.skipEventTypes],
        sessions: req.sessions,
        state: 'running',
        createdAt: now(),
        finishedAt: null,
        events: 0,
        sessionEvents: 0,
        sessionsLeft: 0,
        error: null,
        clipped: p.overlap.kind === 'clipped' && !req.allowDuplicates ? p.overlap.dropped : null,
      };
      await deps.putState([putJob(job)]);
      deps.logger.info(
        { backfillJob: job.id, from: iso(job.from), to: iso(job.to), sessions: job.sessions },
        p.message,
      );
      run(job);
      return { job: view(job), plan: p };
    },
    async resume() {
      let n = 0;
      for (const job of await stored()) {
        if (job.state !== 'running' || runners.has(job.id) || stopped) continue;
        deps.logger.info({ backfillJob: job.id, from: iso(job.from), to: iso(job.to) }, 'resuming backfill job');
        run(job);
        n++;
      }
      return n;
    },
    async list() {
      return (await stored()).map((j) => view(runners.get(j.id)?.job ?? j));
    },
    async cancel(id) {
      const runner = runners.get(id);
      if (runner && runner.job.state === 'running') await runner.stop();
      const job = await cancelStoredJob(id, deps, now(), runner?.job);
      deps.logger.info(
        { backfillJob: id, events: job.events },
        'backfill job cancelled: what it queued is still delivered',
      );
      return view(job);
    },
    active: () => runners.size,
    async idle() {
      while (runners.size > 0) await Promise.all([...runners.values()].map((r) => r.done));
    },
    async stop() {
      stopped = true;
      await Promise.all([...runners.values()].map((r) => r.stop()));
    },
  };
}
