// closed and open loops over lanes. closed: each lane posts its next event as soon as the last one was answered.
// open: events are due at a steady rate whatever the server does; latency counts from when an event was due,
// so time spent waiting for a free lane counts too (no coordinated omission).
import { eventBody } from './events.js';
import { Samples } from './stats.js';
import type { Lane } from './clients.js';

export interface LoadResult {
  /** requests answered 200 */
  ok: number;
  /** answered with another status, or failed */
  errors: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  /** ack latency of the 200s, ms */
  latency: Samples;
  /** first error seen, for the report */
  firstError?: string;
}

export interface Events {
  run: string;
  /** next event number; shared so uids stay unique across warm-up and measured phases */
  next: number;
  path: string;
}

function newResult(): LoadResult {
  return { ok: 0, errors: 0, statuses: {}, elapsedMs: 0, latency: new Samples() };
}

function count(r: LoadResult, status: number | string, ms: number): void {
  r.statuses[status] = (r.statuses[status] ?? 0) + 1;
  if (status === 200) {
    r.ok++;
    r.latency.add(ms);
  } else {
    r.errors++;
  }
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function closedLoop(lanes: Lane[], events: Events, durationMs: number): Promise<LoadResult> {
  const r = newResult();
  const start = nowMs();
  const end = start + durationMs;
  await Promise.all(
    lanes.map(async (lane) => {
      while (nowMs() < end) {
        const body = eventBody(events.run, events.next++);
        const t0 = nowMs();
        try {
          const status = await lane.post(events.path, body);
          count(r, status, nowMs() - t0);
        } catch (err) {
          r.firstError ??= (err as Error).message;
          count(r, 'error', 0);
          await new Promise((res) => setTimeout(res, 10));
        }
      }
    }),
  );
  r.elapsedMs = nowMs() - start;
  return r;
}

export async function openLoop(
  lanes: Lane[],
  events: Events,
  ratePerSecond: number,
  durationMs: number,
): Promise<LoadResult> {
  const r = newResult();
  const free = [...lanes];
  const due: number[] = []; // times events became due and are waiting for a lane
  const start = nowMs();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  let issued = 0;
  let finished = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));

  const dispatch = (): void => {
    while (free.length > 0 && due.length > 0) {
      const lane = free.pop()!;
      const dueAt = due.shift()!;
      const body = eventBody(events.run, events.next++);
      lane.post(events.path, body).then(
        (status) => finish(lane, status, dueAt),
        (err: Error) => {
          r.firstError ??= err.message;
          finish(lane, 'error', dueAt);
        },
      );
    }
  };
  const finish = (lane: Lane, status: number | string, dueAt: number): void => {
    count(r, status, nowMs() - dueAt);
    free.push(lane);
    finished++;
    if (finished === total) resolveDone();
    else dispatch();
  };
  const tick = (): void => {
    const elapsed = nowMs() - start;
    const shouldHave = Math.min(total, Math.floor((elapsed * ratePerSecond) / 1000) + 1);
    while (issued < shouldHave) {
      due.push(start + (issued * 1000) / ratePerSecond);
      issued++;
    }
    dispatch();
    if (issued < total) setTimeout(tick, 1);
  };
  if (total === 0) return r;
  tick();
  await done;
  r.elapsedMs = nowMs() - start;
  return r;
}
