// datasets for the fake auth service: an ordered run of audit events split into per-date export chunks, plus
// session recordings. `generatedDataset` is a function of the event index (a million events cost a few
// small typed arrays); `datasetFromEvents` / `loadFixtureDataset` hold a small hand-written list.
import { createHash, randomInt } from 'node:crypto';
import { packageRoot } from '../paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Json,
  type OrdinaryKind,
  type SessionSpec,
  KIND_TYPE,
  failedLogin,
  fakeUuid,
  hash32,
  opaqueId,
  ordinaryEvent,
  ordinaryKind,
  recordingEvent,
  recordingTime,
  recordingType,
  sessionEnd,
  sessionStart,
  sessionUpload,
} from './teleport-events.js';

/** one event as the auth service returns it (`EventUnstructured`) */
export interface FakeEvent {
  /** the `event` field */
  type: string;
  /** `uid`, else the SHA-256 hex of the event's JSON */
  id: string;
  /** `ei`, 0 when absent */
  index: number;
  /** `time` in epoch ms */
  timeMs: number;
  /** the event itself (`unstructured`) */
  json: Json;
}

/** events ascending by time; `timeAt` and `typeAt` are cheap, `eventAt` builds the event */
export interface EventRun {
  readonly length: number;
  timeAt(i: number): number;
  typeAt(i: number): string;
  eventAt(i: number): FakeEvent;
}

/** an export chunk: events [start, end) of the dataset's run, all on `date` (YYYY-MM-DD, UTC) */
export interface DatasetChunk {
  readonly date: string;
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export interface FakeDataset {
  readonly description: string;
  readonly clusterName: string;
  /** every audit event, ascending by time (what the legacy search pages through) */
  readonly events: EventRun;
  /** export chunks, grouped by date in date order */
  readonly chunks: readonly DatasetChunk[];
  /** sessions that have a recording */
  readonly sessionIds: readonly string[];
  recording(sid: string): EventRun | undefined;
}

const DAY = 86_400_000;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** the UTC date of an epoch-ms time, `YYYY-MM-DD` */
export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** wraps a JSON event: type from `event`, id from `uid` (else SHA-256 of the JSON), index from `ei` */
export function fakeEvent(json: Json): FakeEvent {
  const timeMs = typeof json.time === 'string' ? Date.parse(json.time) : NaN;
  if (!Number.isFinite(timeMs)) throw new Error(`event has no RFC3339 "time": ${JSON.stringify(json).slice(0, 200)}`);
  const id =
    typeof json.uid === 'string' && json.uid !== ''
      ? json.uid
      : createHash('sha256').update(JSON.stringify(json)).digest('hex');
  return {
    type: typeof json.event === 'string' ? json.event : '',
    id,
    index: typeof json.ei === 'number' ? json.ei : 0,
    timeMs,
    json,
  };
}

/** a run over a list of events, sorted by time (stable) */
export function listRun(events: readonly Json[]): EventRun {
  const list = events.map(fakeEvent).sort((a, b) => a.timeMs - b.timeMs);
  return {
    length: list.length,
    timeAt: (i) => list[i]!.timeMs,
    typeAt: (i) => list[i]!.type,
    eventAt: (i) => list[i]!,
  };
}

/** splits a run into chunks of at most `chunkSize` events per UTC date; ids are opaque and deterministic */
export function chunkRun(run: EventRun, chunkSize: number, seed = 0): DatasetChunk[] {
  if (!(chunkSize >= 1)) throw new Error(`chunk size must be >= 1, got ${chunkSize}`);
  const chunks: DatasetChunk[] = [];
  let i = 0;
  while (i < run.length) {
    const date = utcDate(run.timeAt(i));
    let end = i;
    while (end < run.length && end - i < chunkSize && utcDate(run.timeAt(end)) === date) end++;
    chunks.push({ date, id: opaqueId(seed, Date.parse(date) / DAY, chunks.length), start: i, end });
    i = end;
  }
  return chunks;
}

export interface ListDatasetOptions {
  description?: string;
  clusterName?: string;
  /** most events per chunk; default 4 */
  chunkSize?: number;
  /** recordings by session id: each a list of events (session.start, print, ..., session.end) */
  recordings?: Record<string, Json[]>;
}

/** a dataset over a small list of events (tests, fixtures) */
export function datasetFromEvents(events: readonly Json[], o: ListDatasetOptions = {}): FakeDataset {
  const run = listRun(events);
  const recordings = new Map(Object.entries(o.recordings ?? {}).map(([sid, evs]) => [sid, listRecording(evs)]));
  return {
    description: o.description ?? `${run.length} listed events`,
    clusterName: o.clusterName ?? String(events[0]?.cluster_name ?? 'tele.example.com'),
    events: run,
    chunks: chunkRun(run, o.chunkSize ?? 4),
    sessionIds: [...recordings.keys()],
    recording: (sid) => recordings.get(sid),
  };
}

/** a recording over a list of events, ordered by `ei` (prints can share a millisecond) */
export function listRecording(events: readonly Json[]): EventRun {
  const list = events.map(fakeEvent).sort((a, b) => a.index - b.index);
  return {
    length: list.length,
    timeAt: (i) => list[i]!.timeMs,
    typeAt: (i) => list[i]!.type,
    eventAt: (i) => list[i]!,
  };
}

/** the project root (where proto/ and fixtures/ are) */
export function projectRoot(): string {
  return packageRoot;
}

/** the hand-written fixture: fixtures/teleport/<name>.json, `{ description, cluster_name, chunk_size, events, recordings }` */
export function loadFixtureDataset(name = 'small-cluster'): FakeDataset {
  const file = join(projectRoot(), 'fixtures', 'teleport', `${name}.json`);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    description?: string;
    cluster_name?: string;
    chunk_size?: number;
    events: Json[];
    recordings?: Record<string, Json[]>;
  };
  if (!Array.isArray(doc.events)) throw new Error(`${file}: "events" must be an array`);
  return datasetFromEvents(doc.events, {
    description: doc.description ?? name,
    clusterName: doc.cluster_name,
    chunkSize: doc.chunk_size,
    recordings: doc.recordings,
  });
}

export interface GeneratedDatasetOptions {
  /** UTC dates with events: a list of `YYYY-MM-DD`, or `days` consecutive dates from `start` */
  dates: string[] | { start: Date | string; days: number };
  /** audit events on each date; default 200 */
  eventsPerDate?: number;
  /** export chunks per date; default 4 (fewer when a date has fewer events) */
  chunksPerDate?: number;
  /** recorded ssh sessions, spread evenly: each adds session.start, session.end, session.upload to the log */
  sessions?: { count: number; eventsPerSession: number };
  /** a burst of failed logins for one user, a few seconds apart, in the middle of `date` (default first date) */
  failedLoginsFor?: { user: string; count: number; date?: string };
  clusterName?: string;
  seed?: number;
}

/** which of its three consecutive slots (start, end, then upload) a session event takes */
const SLOT_START = 1;
const SLOT_END = 2;
/** ms between the failed logins of a burst (at most) */
const BURST_STEP_MS = 3000;

/**
 * a deterministic dataset whose events are computed from their index: `eventsPerDate` events spread over each
 * date (times never decrease with the index), chunk boundaries computed, session recordings generated on demand.
 * memory: O(dates x chunks + sessions), independent of the event counts.
 */
export function generatedDataset(o: GeneratedDatasetOptions): FakeDataset {
  const seed = (o.seed ?? 1) >>> 0;
  const cluster = o.clusterName ?? 'tele.example.com';
  const dates = resolveDates(o.dates);
  const perDate = o.eventsPerDate ?? 200;
  if (!Number.isInteger(perDate) || perDate < 1)
    throw new Error(`eventsPerDate must be a positive integer, got ${perDate}`);
  const total = dates.length * perDate;
  const dayStart = dates.map((d) => Date.parse(`${d}T00:00:00Z`));

  // natural time of slot g: inside its slice of the day, with jitter that keeps times ascending
  const naturalTime = (g: number): number => {
    const d = Math.floor(g / perDate);
    const k = g - d * perDate;
    const u = hash32(seed, g, 0x71) / 4294967296;
    return dayStart[d]! + Math.floor(((k + 0.25 + 0.5 * u) * DAY) / perDate);
  };

  // a failed-login burst occupies [burstStart, burstStart + burstCount)
  let burstStart = -1;
  let burstCount = 0;
  let burstStep = 0;
  const burstUser = o.failedLoginsFor?.user ?? '';
  if (o.failedLoginsFor && o.failedLoginsFor.count > 0) {
    const di = o.failedLoginsFor.date ? dates.indexOf(o.failedLoginsFor.date) : 0;
    if (di < 0) throw new Error(`failedLoginsFor.date ${o.failedLoginsFor.date} is not one of the dataset's dates`);
    burstCount = o.failedLoginsFor.count;
    if (burstCount > perDate - 1)
      throw new Error(`failedLoginsFor.count (${burstCount}) must be below eventsPerDate (${perDate})`);
    burstStart = di * perDate + Math.floor((perDate - burstCount) / 2);
    const room = naturalTime(burstStart + burstCount) - naturalTime(burstStart);
    burstStep = Math.min(BURST_STEP_MS, Math.floor(room / burstCount));
  }
  const inBurst = (g: number): boolean => g >= burstStart && g < burstStart + burstCount;
  const timeAt = (g: number): number =>
    inBurst(g) ? naturalTime(burstStart) + (g - burstStart) * burstStep : naturalTime(g);

  // sessions: three consecutive slots each (start, end, upload), spread evenly, stepping around the burst
  const sessionCount = o.sessions?.count ?? 0;
  const perSession = o.sessions?.eventsPerSession ?? 0;
  if (sessionCount > 0 && !(Number.isInteger(perSession) && perSession >= 2)) {
    throw new Error(`sessions.eventsPerSession must be an integer >= 2, got ${perSession}`);
  }
  if (sessionCount > 60_000) throw new Error('at most 60000 sessions');
  if (sessionCount * 3 + burstCount > total)
    throw new Error(`${sessionCount} sessions and a burst of ${burstCount} do not fit in ${total} events`);
  const sessionSlot = new Int32Array(sessionCount); // first slot (session.start) of each session
  let next = 0;
  for (let s = 0; s < sessionCount; s++) {
    let g = Math.max(next, Math.floor(((s + 0.5) * total) / sessionCount) - 1);
    if (burstCount > 0 && g + 3 > burstStart && g < burstStart + burstCount) g = burstStart + burstCount;
    if (g + 3 > total) throw new Error(`${sessionCount} sessions do not fit in ${total} events`);
    sessionSlot[s] = g;
    next = g + 3;
  }
  const sids = Array.from({ length: sessionCount }, (_, s) => fakeUuid(seed, 0xfffc, s));
  const sessionBySid = new Map(sids.map((sid, s) => [sid, s]));

  // which session slot is g in, if any: binary search over the ascending first slots
  const sessionAt = (g: number): { s: number; role: number } | undefined => {
    let lo = 0;
    let hi = sessionCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const first = sessionSlot[mid]!;
      if (g < first) hi = mid - 1;
      else if (g >= first + 3) lo = mid + 1;
      else return { s: mid, role: SLOT_START + (g - first) };
    }
    return undefined;
  };

  const spec = (s: number): SessionSpec => {
    const g = sessionSlot[s]!;
    return {
      sid: sids[s]!,
      cluster,
      h: hash32(seed, s, 0x5e55),
      startMs: timeAt(g),
      endMs: timeAt(g + 1),
      startUid: fakeUuid(seed, 0, g),
      endUid: fakeUuid(seed, 0, g + 1),
      uploadUid: fakeUuid(seed, 0, g + 2),
      length: perSession,
    };
  };

  const check = (g: number): void => {
    if (!Number.isInteger(g) || g < 0 || g >= total)
      throw new RangeError(`event index ${g} is outside 0..${total - 1}`);
  };

  const kindOf = (g: number): OrdinaryKind => ordinaryKind(hash32(seed, g, 0x6b));
  const typeAt = (g: number): string => {
    check(g);
    if (inBurst(g)) return 'user.login';
    const sl = sessionAt(g);
    if (sl) return sl.role === SLOT_START ? 'session.start' : sl.role === SLOT_END ? 'session.end' : 'session.upload';
    return KIND_TYPE[kindOf(g)];
  };

  const jsonAt = (g: number): Json => {
    const ctx = { cluster, timeMs: timeAt(g), uid: fakeUuid(seed, 0, g), h: hash32(seed, g, 0x68) };
    if (inBurst(g)) return failedLogin(ctx, burstUser, hash32(seed, burstStart, 0x68));
    const sl = sessionAt(g);
    if (sl) {
      const sp = spec(sl.s);
      return sl.role === SLOT_START
        ? sessionStart(sp)
        : sl.role === SLOT_END
          ? sessionEnd(sp)
          : sessionUpload(sp, ctx.timeMs);
    }
    return ordinaryEvent(kindOf(g), ctx);
  };

  const events: EventRun = {
    length: total,
    timeAt: (g) => (check(g), timeAt(g)),
    typeAt,
    eventAt: (g) => {
      check(g);
      const json = jsonAt(g);
      return { type: json.event as string, id: json.uid as string, index: json.ei as number, timeMs: timeAt(g), json };
    },
  };

  const chunksPerDate = Math.min(o.chunksPerDate ?? 4, perDate);
  if (!(chunksPerDate >= 1)) throw new Error(`chunksPerDate must be >= 1, got ${o.chunksPerDate}`);
  const chunks: DatasetChunk[] = [];
  dates.forEach((date, d) => {
    for (let j = 0; j < chunksPerDate; j++) {
      const start = d * perDate + Math.floor((j * perDate) / chunksPerDate);
      const end = d * perDate + Math.floor(((j + 1) * perDate) / chunksPerDate);
      chunks.push({ date, id: opaqueId(seed, dayStart[d]! / DAY, j), start, end });
    }
  });

  const recordings = new Map<number, EventRun>();
  const recording = (sid: string): EventRun | undefined => {
    const s = sessionBySid.get(sid);
    if (s === undefined) return undefined;
    let run = recordings.get(s);
    if (!run) {
      const sp = spec(s);
      run = recordingRun(sp);
      recordings.set(s, run);
    }
    return run;
  };

  return {
    description:
      `${total} generated events on ${dates.length} dates (${dates[0]}..${dates[dates.length - 1]}), ` +
      `${chunksPerDate} chunks a date, ${sessionCount} recorded sessions of ${perSession} events`,
    clusterName: cluster,
    events,
    chunks,
    sessionIds: sids,
    recording,
  };
}

function recordingRun(sp: SessionSpec): EventRun {
  const check = (i: number): void => {
    if (!Number.isInteger(i) || i < 0 || i >= sp.length)
      throw new RangeError(`recording index ${i} is outside 0..${sp.length - 1}`);
  };
  return {
    length: sp.length,
    timeAt: (i) => (check(i), recordingTime(sp, i)),
    typeAt: (i) => (check(i), recordingType(sp, i)),
    eventAt: (i) => (check(i), fakeEvent(recordingEvent(sp, i))),
  };
}

function resolveDates(spec: GeneratedDatasetOptions['dates']): string[] {
  let dates: string[];
  if (Array.isArray(spec)) {
    dates = [...new Set(spec)].sort();
  } else {
    const start = Date.parse(utcDate(new Date(spec.start).getTime()));
    if (!Number.isFinite(start)) throw new Error(`dates.start is not a date: ${String(spec.start)}`);
    dates = Array.from({ length: spec.days }, (_, i) => utcDate(start + i * DAY));
  }
  for (const d of dates)
    if (!DATE_RE.test(d) || !Number.isFinite(Date.parse(d))) throw new Error(`not a YYYY-MM-DD date: ${d}`);
  if (dates.length === 0) throw new Error('a generated dataset needs at least one date');
  return dates;
}

/** the default dataset: three recent days (ending yesterday, UTC), a few recordings, a failed-login burst */
export function defaultDataset(clusterName = 'tele.example.com', now = Date.now()): FakeDataset {
  const today = Date.parse(utcDate(now));
  return generatedDataset({
    dates: { start: new Date(today - 3 * DAY), days: 3 },
    eventsPerDate: 200,
    chunksPerDate: 3,
    sessions: { count: 4, eventsPerSession: 120 },
    failedLoginsFor: { user: 'mallory', count: 5 },
    clusterName,
    seed: 20261120,
  });
}

export interface SampleEventsOptions {
  count: number;
  /** time of the first event, epoch ms; default now */
  startMs?: number;
  /** ms between events; default 1000 */
  stepMs?: number;
  clusterName?: string;
  /** default random, so repeated calls give new uids */
  seed?: number;
}

/** realistic ordinary audit events (logins, certs, db queries, requests...) for `addEvents`: live traffic */
export function sampleEvents(o: SampleEventsOptions): Json[] {
  const seed = (o.seed ?? randomInt(2 ** 32)) >>> 0;
  const start = o.startMs ?? Date.now();
  const step = o.stepMs ?? 1000;
  const cluster = o.clusterName ?? 'tele.example.com';
  return Array.from({ length: o.count }, (_, i) => {
    const h = hash32(seed, i, 0x68);
    return ordinaryEvent(ordinaryKind(hash32(seed, i, 0x6b)), {
      cluster,
      timeMs: start + i * step,
      uid: fakeUuid(seed, 0xfff8, i),
      h,
    });
  });
}
