// auto-lock: after `failedAttemptsCount` failed `user.login` events for one user within `periodMs` (by event
// time), upsert a teleport lock on that user for `forMs` (0 = no expiry). the counters live in memory only: a
// restart forgets failures seen before it, which at worst delays a lock by a few attempts. failures older than
// STALE_MS are not acted on, so exporting old history never locks anyone today. dry run logs instead of locking.
// threshold: we lock at the N-th failure within the period, as our docs say ("after N failed logins"); the go
// handler (go-limiter, Tokens: N per Interval) only locks on failure N+1, so the same settings lock one attempt
// sooner here. users whose failures can no longer count (all older than STALE_MS + period) are pruned, amortized.
import type { Logger } from '../../log.js';
import type { LockSpec } from './client.js';
import { failedLoginUser, type DecodedEvent } from './events.js';
import { Backoff } from '../../backoff.js';
import { sleep } from '../../sleep.js';
import { plainExplain, type Explain } from './explain.js';

export const STALE_MS = 3600_000; // 1 h
export const LOCK_MESSAGE = 'Locked by the Datadog forwarder after too many failed login attempts';
const MAX_TRACKED = 64; // failure times kept per user
const UPSERT_ATTEMPTS = 5;
const PRUNE_MIN_USERS = 1024; // below this many tracked users, no pruning pass

export interface LockOptions {
  enabled: boolean;
  failedAttemptsCount: number;
  periodMs: number;
  forMs: number;
  dryRun: boolean;
}

export interface LockDeps {
  upsert(lock: LockSpec, signal?: AbortSignal): Promise<void>;
  logger: Logger;
  now: () => number;
  signal: AbortSignal;
  retryBaseMs?: number;
  /** what a failed upsert means (explain.ts) */
  explain?: Explain;
}

/** pure: does this sorted list of failure times hold `count` within `periodMs`? */
export function reachesThreshold(sortedTimes: number[], count: number, periodMs: number): boolean {
  for (let i = count - 1; i < sortedTimes.length; i++) {
    if (sortedTimes[i]! - sortedTimes[i - count + 1]! <= periodMs) return true;
  }
  return false;
}

export function lockName(user: string): string {
  return `datadog-forwarder-auto-lock-${user}`;
}

export function createLocker(o: LockOptions, d: LockDeps) {
  const failures = new Map<string, number[]>();
  const pending = new Set<Promise<void>>();
  let upserted = 0;
  let pruneAt = PRUNE_MIN_USERS;

  /**
   * drops users whose newest failure is older than STALE_MS + period: any failure still to come that is acted
   * on is more than a period later, so they cannot count with it. runs when the map doubled: amortized O(1).
   */
  function prune(): void {
    const horizon = d.now() - STALE_MS - o.periodMs;
    for (const [user, times] of failures) if (times[times.length - 1]! < horizon) failures.delete(user);
    pruneAt = Math.max(PRUNE_MIN_USERS, 2 * failures.size);
  }

  async function upsertWithRetry(lock: LockSpec): Promise<void> {
    const backoff = new Backoff(d.retryBaseMs ?? 1000, 30_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await d.upsert(lock, d.signal);
        upserted++;
        d.logger.warn(
          { user: lock.user, lock: lock.name, expires: lock.expires?.toISOString() ?? 'never' },
          'teleport user locked after repeated failed logins',
        );
        return;
      } catch (err) {
        if (d.signal.aborted) return;
        const x = (d.explain ?? plainExplain)(err, 'lock');
        // a role without the lock rules will not get them by retrying: say what to do once, and give up
        if (attempt >= UPSERT_ATTEMPTS || x.problem === 'access') {
          d.logger.error(
            { user: lock.user, err: x.err, ...(x.hint ? { hint: x.hint } : {}) },
            `could not lock teleport user; giving up${x.problem === 'access' ? `: ${x.summary}` : ''}`,
          );
          return;
        }
        d.logger.warn({ user: lock.user, err: x.err }, 'could not lock teleport user; retrying');
        await sleep(backoff.next(), d.signal);
      }
    }
  }

  function observe(events: DecodedEvent[]): void {
    if (!o.enabled) return;
    for (const e of events) {
      const user = failedLoginUser(e);
      if (!user) continue;
      const times = failures.get(user) ?? [];
      times.push(e.time);
      times.sort((a, b) => a - b);
      const newest = times[times.length - 1]!;
      while (times.length > 0 && (times[0]! < newest - o.periodMs || times.length > MAX_TRACKED)) times.shift();
      failures.set(user, times);
      if (failures.size > pruneAt) prune();
      if (!reachesThreshold(times, o.failedAttemptsCount, o.periodMs)) continue;
      failures.delete(user);
      if (d.now() - e.time > STALE_MS) {
        d.logger.info(
          { user, at: new Date(e.time).toISOString() },
          'old failed logins reached the lock threshold; not locking for past events',
        );
        continue;
      }
      const lock: LockSpec = {
        name: lockName(user),
        user,
        message: LOCK_MESSAGE,
        expires: o.forMs > 0 ? new Date(d.now() + o.forMs) : undefined,
      };
      if (o.dryRun) {
        d.logger.info({ user, lock: lock.name }, 'dry run: would lock teleport user after repeated failed logins');
        continue;
      }
      const p = upsertWithRetry(lock).finally(() => pending.delete(p));
      pending.add(p);
    }
  }

  return {
    observe,
    locks: () => upserted,
    /** users with failures being counted */
    tracked: () => failures.size,
    /** resolves when no lock upsert is in flight or waiting to retry */
    async idle(): Promise<void> {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async stop(): Promise<void> {
      await Promise.allSettled([...pending]);
    },
  };
}
