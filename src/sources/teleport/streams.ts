// the poller's open server streams (export chunks, session recordings) and when each last sent something. a
// stream that stalls with its connection up is only cancelled at stream-idle-timeout (4x that before its first
// message): until then nothing fails, so without this a stalled export looks like a slow one for up to 20 min.
// status lists the quiet ones and the poller logs each once it has been quiet for QUIET_WARN_MS (warnQuiet).
import type { Logger } from '../../log.js';
import { FIRST_MESSAGE_IDLE_FACTOR } from './batches.js';

/** a stream quiet this long is listed in status and logged once (less when stream-idle-timeout is short) */
export const QUIET_WARN_MS = 60_000;
/** how often quiet streams are looked for */
const QUIET_CHECK_MS = 5_000;

export interface QuietStream {
  /** e.g. `export chunk <id> of 2026-11-20`, `session recording <sid>` */
  what: string;
  quietForMs: number;
  /** whether it has sent anything yet (the first message may take longer: the auth service prepares it) */
  started: boolean;
}

interface Open {
  what: string;
  lastAt: number;
  started: boolean;
  warned: boolean;
  /** a batch is being written (maybe waiting for spool space): the stream is not read, so not quiet */
  holding: boolean;
}

export class StreamWatch {
  private readonly open = new Set<Open>();
  /** `firstFactor`: a stream that has sent nothing yet is quiet only after this many times as long (batches.ts) */
  constructor(
    private readonly now: () => number,
    private readonly firstFactor = 1,
  ) {}

  private quietAfter(s: Open, minMs: number): number {
    return s.started ? minMs : minMs * this.firstFactor;
  }

  /** a stream opened: received() when a batch arrives, reading() once it is written, done() however it ends */
  track(what: string): { received(): void; reading(): void; done(): void } {
    const s: Open = { what, lastAt: this.now(), started: false, warned: false, holding: false };
    this.open.add(s);
    return {
      received: () => {
        s.started = true;
        s.holding = true;
        s.warned = false; // a second stall is news again
      },
      reading: () => {
        s.lastAt = this.now();
        s.holding = false;
      },
      done: () => void this.open.delete(s),
    };
  }

  get size(): number {
    return this.open.size;
  }

  /** the open streams quiet for at least minMs, quietest first */
  quiet(minMs = QUIET_WARN_MS): QuietStream[] {
    const now = this.now();
    const out: QuietStream[] = [];
    for (const s of this.open) {
      const quietForMs = now - s.lastAt;
      if (!s.holding && quietForMs >= this.quietAfter(s, minMs))
        out.push({ what: s.what, quietForMs, started: s.started });
    }
    return out.sort((a, b) => b.quietForMs - a.quietForMs);
  }

  /** the quiet streams not reported since they last sent something; marks them reported */
  newlyQuiet(minMs = QUIET_WARN_MS): QuietStream[] {
    const now = this.now();
    const out: QuietStream[] = [];
    for (const s of this.open) {
      if (s.warned || s.holding || now - s.lastAt < this.quietAfter(s, minMs)) continue;
      s.warned = true;
      out.push({ what: s.what, quietForMs: now - s.lastAt, started: s.started });
    }
    return out;
  }
}

/**
 * logs each stream once it has been quiet for a fifth of the idle timeout, at most QUIET_WARN_MS (with the
 * default 5 min, a minute); `quietMs` is that bound, for status
 */
export function warnQuiet(
  streams: StreamWatch,
  logger: Logger,
  streamIdleTimeoutMs: number,
): { quietMs: number; stop(): void } {
  const quietMs = Math.min(QUIET_WARN_MS, streamIdleTimeoutMs / 5);
  const timer = setInterval(
    () => {
      for (const q of streams.newlyQuiet(quietMs)) {
        const cancelAfter = q.started ? streamIdleTimeoutMs : streamIdleTimeoutMs * FIRST_MESSAGE_IDLE_FACTOR;
        logger.warn(
          {
            stream: q.what,
            quietSeconds: Math.round(q.quietForMs / 1000),
            cancelAfterSeconds: Math.round(cancelAfter / 1000),
          },
          `a teleport stream has sent nothing for ${Math.round(q.quietForMs / 1000)} s with its connection up; it is cancelled and retried from its cursor at stream-idle-timeout`,
        );
      }
    },
    Math.min(QUIET_CHECK_MS, quietMs / 2),
  );
  timer.unref?.();
  return { quietMs, stop: () => clearInterval(timer) };
}
