// a backfill job as stored: its spec and outcome under `backfill/job/<id>`, its cursors (the live poller's keys,
// moved under `backfill/cursor/<id>/`) beside it. the live poller's keys (`teleport/`) are never touched.
import { randomBytes } from 'node:crypto';
import type { StateOp } from '../spool/types.js';
import { PREFIX as LIVE_PREFIX } from '../sources/teleport/state.js';

export const JOB_PREFIX = 'backfill/job/';
export const jobKey = (id: string): string => `${JOB_PREFIX}${id}`;
export const cursorPrefix = (id: string): string => `backfill/cursor/${id}/`;

/** the record attribute naming the job a backfilled event came from */
export const JOB_ATTRIBUTE = 'backfill_job';

export type JobState = 'running' | 'done' | 'cancelled' | 'failed';

export interface JobSpec {
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
  /** event types to ship; empty = all */
  types: string[];
  skipEventTypes: string[];
  /** also stream the recordings of sessions uploaded in the range */
  sessions: boolean;
}

export interface Job extends JobSpec {
  id: string;
  state: JobState;
  createdAt: number;
  finishedAt: number | null;
  /** audit events and recording events handed to the spool (written with the cursors: exact after a clean stop) */
  events: number;
  sessionEvents: number;
  /** recordings not read by the end (not found, or failing): logged by id */
  sessionsLeft: number;
  error: string | null;
  /** what was clipped off the asked range because the live poller had shipped it, when it was */
  clipped: { from: number; to: number } | null;
}

export function newJobId(now: number): string {
  const d = new Date(now).toISOString().slice(0, 10).replace(/-/g, '');
  return `bf-${d}-${randomBytes(3).toString('hex')}`;
}

export const JOB_ID_RE = /^bf-\d{8}-[0-9a-f]{6}$/;

export function parseJob(value: string): Job | undefined {
  try {
    const j = JSON.parse(value) as Job;
    return typeof j?.id === 'string' && typeof j.from === 'number' && typeof j.to === 'number' ? j : undefined;
  } catch {
    return undefined;
  }
}

export const putJob = (j: Job): StateOp => ({ type: 'put', key: jobKey(j.id), value: JSON.stringify(j) });

/** a live-poller key moved into the job's scope, and back */
export function toJobKey(id: string, key: string): string {
  if (!key.startsWith(LIVE_PREFIX)) throw new Error(`backfill state key outside the poller's: ${key}`);
  return cursorPrefix(id) + key.slice(LIVE_PREFIX.length);
}
export function fromJobKey(id: string, key: string): string {
  return LIVE_PREFIX + key.slice(cursorPrefix(id).length);
}

/** the same spec: a job asked again (after a kill, say) resumes instead of starting over */
export function sameSpec(a: JobSpec, b: JobSpec): boolean {
  const list = (x: string[]) => [...x].sort().join(',');
  return (
    a.from === b.from &&
    a.to === b.to &&
    a.sessions === b.sessions &&
    list(a.types) === list(b.types) &&
    list(a.skipEventTypes) === list(b.skipEventTypes)
  );
}
