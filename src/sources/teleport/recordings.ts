// the recordings the sessions know of: their saved state, which are streaming, parked or waiting for a retry,
// and the uploads claimed by a batch that is not durable yet. no i/o: sessions.ts and recording.ts drive it.
import { Backoff } from '../../backoff.js';
import type { StateOp } from '../../spool/types.js';
import { uploadedSessionId, type DecodedEvent } from './events.js';
import type { ExplainedError } from './explain.js';
import { K, putJson, type SessionState } from './state.js';

/** a recording exit-on-last-event did not wait for; it stays in state for the next run */
export interface LeftBehind {
  sid: string;
  index: number;
  attempts: number;
  err: string;
  problem?: ExplainedError;
}

export interface Entry {
  state: SessionState;
  running: boolean;
  /** the last attempt found no recording (yet) */
  notFound: boolean;
  /** failed attempts in a row, and the last one's error */
  failures: number;
  lastError: string;
  /** the last failure, explained (not for a recording not found) */
  problem?: ExplainedError;
  /** not found yet, or failed EXIT_AFTER_ATTEMPTS times in a row: counts as idle for exit-on-last-event */
  parked: boolean;
  nextTryAt: number;
  backoff: Backoff;
}

export class Recordings {
  readonly entries = new Map<string, Entry>();
  /** sid -> upload time, for sessions whose state put is in a batch not yet durable */
  private readonly registering = new Map<string, number>();
  /** entries streaming now */
  running = 0;
  /** entries with `parked` set: kept as a count so the idle check costs nothing per pump */
  private parkedCount = 0;

  constructor(
    private readonly retryBaseMs: number,
    private readonly retryMaxMs: number,
  ) {}

  entry(state: SessionState): Entry {
    return {
      state,
      running: false,
      notFound: false,
      failures: 0,
      lastError: '',
      parked: false,
      nextTryAt: 0,
      backoff: new Backoff(this.retryBaseMs, this.retryMaxMs),
    };
  }

  add(sid: string, e: Entry): void {
    this.entries.set(sid, e);
    if (e.parked) this.parkedCount++;
  }

  remove(sid: string): void {
    const e = this.entries.get(sid);
    if (e?.parked) this.parkedCount--;
    this.entries.delete(sid);
  }

  setParked(e: Entry, parked: boolean): void {
    if (e.parked === parked) return;
    e.parked = parked;
    this.parkedCount += parked ? 1 : -1;
  }

  /**
   * state ops for the session.upload events of a batch (sessions not known yet), and the sids they claim. a
   * claimed sid is registered by registerFrom once that batch is durable, or released if it failed; the same
   * upload in a concurrent batch is not claimed twice (its index must not be reset).
   */
  opsFor(events: DecodedEvent[]): { ops: StateOp[]; claimed: string[] } {
    const ops: StateOp[] = [];
    const claimed: string[] = [];
    for (const e of events) {
      const sid = uploadedSessionId(e);
      if (!sid || this.entries.has(sid) || this.registering.has(sid)) continue;
      this.registering.set(sid, e.time);
      claimed.push(sid);
      ops.push(putJson(K.session(sid), { i: 0, t: e.time } satisfies SessionState));
    }
    return { ops, claimed };
  }

  /** the batch holding these claims is durable: their recordings can be streamed */
  registerFrom(claimed: string[]): void {
    for (const sid of claimed) {
      const t = this.registering.get(sid);
      if (t === undefined) continue;
      this.registering.delete(sid);
      if (!this.entries.has(sid)) this.add(sid, this.entry({ i: 0, t }));
    }
  }

  /** the batch holding these claims failed: its retry (or a concurrent batch) claims them again */
  release(claimed: string[]): void {
    for (const sid of claimed) this.registering.delete(sid);
  }

  /**
   * nothing streaming, and nothing left but recordings not found yet (those can take hours to appear) or
   * failing again and again (permissions, a broken recording): exit-on-last-event must not wait for them forever
   */
  isIdle(): boolean {
    return this.running === 0 && this.parkedCount === this.entries.size;
  }

  /** recordings still in state and waiting to be retried, with their last error (for the exit log) */
  leftBehind(): LeftBehind[] {
    const out: LeftBehind[] = [];
    for (const [sid, e] of this.entries)
      if (!e.running) out.push({ sid, index: e.state.i, attempts: e.failures, err: e.lastError, problem: e.problem });
    return out;
  }
}
