// what the poller reports to /status, metrics and health: counters folded from the exporter's and the sessions'
// progress (pure), and the view that adds what the parts know now (open streams, spool waits, locks).
import type { StuckChunk } from './failures.js';
import type { ExporterHooks } from './handoff.js';
import type { SessionProgress } from './recording.js';
import type { QuietStream } from './streams.js';

/** quiet streams listed in status */
export const QUIET_LISTED = 10;

export interface TeleportSourceStatus {
  state: 'created' | 'running' | 'stopped' | 'failed';
  /** 'export' (cursor v2) or 'legacy' once probed */
  mode: 'export' | 'legacy' | null;
  /** UTC date (export) or window start date (legacy) being read */
  date: string | null;
  caughtUp: boolean;
  eventsEmitted: number;
  sessionEventsEmitted: number;
  sessionsActive: number;
  sessionsPending: number;
  sessionsFinished: number;
  sessionsGivenUp: number;
  locksUpserted: number;
  /** epoch ms of the newest shipped audit event */
  lastEventTime: number | null;
  lastError: string | null;
  /** epoch ms of the last call to the auth service that answered (a listing, a page, a chunk streamed) */
  lastSuccessAt: number | null;
  /** epoch ms of the first failure since the last success: the poller reads nothing new while it is set */
  failingSince: number | null;
  /** export chunks that keep failing (each holds its date back until it succeeds) */
  stuckChunks: StuckChunk[];
  /** server streams open now (export chunks, recordings) */
  streamsOpen: number;
  /** open streams that have sent nothing for a minute or more (a fifth of stream-idle-timeout if less; 4x before a first message), quietest first (at most QUIET_LISTED) */
  quietStreams: QuietStream[];
  /** how many streams are that quiet, listed or not */
  streamsQuiet: number;
  /** batches (export chunks, recordings) held back now because the spool is full: a wait, not a failure */
  spoolWaiting: number;
  /** epoch ms since when one has been held back; null when none is */
  spoolWaitingSince: number | null;
  identity: { file: string; user: string | undefined; notAfter: string } | null;
  identityRefreshedAt: number | null;
}

/** the status of a source that has not started */
export function initialStatus(): TeleportSourceStatus {
  return {
    state: 'created',
    mode: null,
    date: null,
    caughtUp: false,
    eventsEmitted: 0,
    sessionEventsEmitted: 0,
    sessionsActive: 0,
    sessionsPending: 0,
    sessionsFinished: 0,
    sessionsGivenUp: 0,
    locksUpserted: 0,
    lastEventTime: null,
    lastError: null,
    lastSuccessAt: null,
    failingSince: null,
    stuckChunks: [],
    streamsOpen: 0,
    quietStreams: [],
    streamsQuiet: 0,
    spoolWaiting: 0,
    spoolWaitingSince: null,
    identity: null,
    identityRefreshedAt: null,
  };
}

export type ExportProgress = Parameters<ExporterHooks['progress']>[0];

/** the exporter's progress into st; `now` is when it was reported */
export function foldExportProgress(st: TeleportSourceStatus, p: ExportProgress, now: number): void {
  if (p.mode) st.mode = p.mode;
  if (p.date) st.date = p.date;
  if (p.caughtUp !== undefined) st.caughtUp = p.caughtUp;
  st.eventsEmitted += p.emitted ?? 0;
  if (p.lastEventTime !== undefined) st.lastEventTime = Math.max(st.lastEventTime ?? 0, p.lastEventTime);
  if ('error' in p) {
    st.lastError = p.error ?? null;
    if (p.error === undefined) {
      st.lastSuccessAt = now;
      st.failingSince = null;
    } else {
      // a failed round or page: not caught up until one succeeds again
      st.caughtUp = false;
      st.failingSince ??= now;
    }
  }
  if (p.emitted) st.lastSuccessAt = now;
  if (p.stuck) st.stuckChunks = p.stuck;
}

/** the sessions' progress into st */
export function foldSessionProgress(st: TeleportSourceStatus, p: SessionProgress): void {
  st.sessionEventsEmitted += p.emitted ?? 0;
  st.sessionsFinished += p.finished ?? 0;
  st.sessionsGivenUp += p.gaveUp ?? 0;
  if (p.error) st.lastError = p.error;
}

/** what the parts know now, read when status is asked for */
export interface LiveStatus {
  sessions: { active: number; pending: number } | undefined;
  locks: number | undefined;
  streamsOpen: number;
  /** the open streams quiet long enough to list, quietest first */
  quiet: QuietStream[];
  /** batches held back by a full spool, and since when */
  held: { batches: number; since: number | undefined } | undefined;
}

/** the status as reported: a copy of st with what the parts know now */
export function statusView(st: TeleportSourceStatus, live: LiveStatus): TeleportSourceStatus {
  return {
    ...st,
    sessionsActive: live.sessions?.active ?? 0,
    sessionsPending: live.sessions?.pending ?? 0,
    locksUpserted: live.locks ?? 0,
    streamsOpen: live.streamsOpen,
    quietStreams: live.quiet.slice(0, QUIET_LISTED),
    streamsQuiet: live.quiet.length,
    spoolWaiting: live.held?.batches ?? 0,
    spoolWaitingSince: live.held?.since ?? null,
    identity: st.identity ? { ...st.identity } : null,
  };
}
