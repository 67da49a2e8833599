// a backfill's range, pure: times from the command line, the overlap with what the live poller has shipped,
// and the progress figures (fraction, rate, eta) that status shows.
import { ConfigError } from '../errors.js';
import { parseDuration, parseTime } from '../config/values.js';

const DAY = 86_400_000;

/** an RFC 3339 time, or an age ("7d", "2w", "36h", "1h30m") counted back from now, to epoch ms */
export function parseWhen(input: string, now: number, flag: string): number {
  const s = input.trim();
  const days = /^(\d+(?:\.\d+)?)(d|w)$/.exec(s);
  if (days) return now - Math.round(Number(days[1]) * (days[2] === 'w' ? 7 : 1) * DAY);
  if (/^\d{4}-\d\d-\d\d/.test(s)) {
    try {
      return parseTime(s).getTime();
    } catch (err) {
      throw new ConfigError(`${flag}: ${(err as Error).message}`);
    }
  }
  try {
    return now - parseDuration(s);
  } catch {
    throw new ConfigError(
      `${flag}: expected an RFC 3339 time like "2026-11-01T00:00:00Z" or an age like "7d", "36h" or "30m", got ${JSON.stringify(input.slice(0, 80))}`,
    );
  }
}

export interface Range {
  /** epoch ms, inclusive */
  from: number;
  /** epoch ms, exclusive */
  to: number;
}

/** --from and --to checked: from before to, nothing in the future (--to defaults to now) */
export function resolveRange(from: string | undefined, to: string | undefined, now: number): Range {
  if (from === undefined || from === '')
    throw new ConfigError('backfill needs --from: an RFC 3339 time or an age like 7d (and --to, default now)');
  const f = parseWhen(from, now, '--from');
  const t = to === undefined || to === '' ? now : parseWhen(to, now, '--to');
  if (t > now)
    throw new ConfigError(
      `--to ${iso(t)} is in the future: events not written yet cannot be backfilled; use now or earlier`,
    );
  if (!(f < t)) throw new ConfigError(`--from ${iso(f)} is not before --to ${iso(t)}: give a range with from < to`);
  return { from: f, to: t };
}

export type Overlap =
  /** nothing the live poller shipped is in the range */
  | { kind: 'none' }
  /** the range's end runs into the live poller's: clipped to [from, liveStart) */
  | { kind: 'clipped'; range: Range; dropped: Range }
  /** the whole range was shipped by the live poller */
  | { kind: 'inside'; dropped: Range };

/**
 * the live poller has shipped [liveStart, now): a range overlapping it would send those events twice. undefined
 * liveStart: the poller never ran, nothing overlaps
 */
export function overlapWithLive(r: Range, liveStart: number | undefined): Overlap {
  if (liveStart === undefined || r.to <= liveStart) return { kind: 'none' };
  if (r.from >= liveStart) return { kind: 'inside', dropped: r };
  return { kind: 'clipped', range: { from: r.from, to: liveStart }, dropped: { from: liveStart, to: r.to } };
}

/** how far a job is: the position it reads from (an export date's start, a legacy window's start) in its range */
export function fraction(r: Range, position: number | undefined, done: boolean): number {
  if (done) return 1;
  if (position === undefined) return 0;
  return Math.min(1, Math.max(0, (position - r.from) / (r.to - r.from)));
}

/** events/s since the job (this run of it) began, and seconds left at the pace of its progress so far */
export function pace(
  shipped: number,
  startedAt: number,
  startFraction: number,
  f: number,
  now: number,
): { rate: number; etaSeconds: number | null } {
  const secs = Math.max(0.001, (now - startedAt) / 1000);
  const moved = f - startFraction;
  return {
    rate: shipped / secs,
    etaSeconds: f >= 1 ? 0 : moved > 0 ? Math.round(((1 - f) * secs) / moved) : null,
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** `[from, to)` for messages */
export const showRange = (r: Range): string => `[${iso(r.from)}, ${iso(r.to)})`;
