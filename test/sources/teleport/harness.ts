// shared by the poller tests: a fake auth service with an identity file on disk, a real spool on disk, the
// PollerDeps over that spool, log capture, and draining what the poller shipped.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../src/log.js';
import { openSpool } from '../../../src/spool/spool.js';
import type { Spool, StateOp } from '../../../src/spool/types.js';
import type { SourceRecord } from '../../../src/record.js';
import {
  startFakeTeleport,
  createFakeTeleportTls,
  generatedDataset,
  type FakeTeleport,
  type FakeDataset,
} from '../../../src/fakes/teleport.js';
import { formatIdentityFile } from '../../../src/sources/teleport/identity.js';
import { createTeleportSource, type PollerDeps, type TeleportSource } from '../../../src/sources/teleport/source.js';
import type { TeleportSourceOptions } from '../../../src/sources/teleport/options.js';
import { sectionDefaults } from '../../../src/config/sections.js';
import { awayFromUtcMidnight } from '../../helpers/clock.js';
import { captureLogs, type LogCapture } from '../../helpers/logs.js';
import { tempDir } from '../../helpers/temp.js';
import { waitFor, within } from '../../helpers/wait.js';
import { createPipeline, DryRunState, type PollerPort } from '../../../src/pipeline.js';
import { createRouter } from '../../../src/router/router.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

await awayFromUtcMidnight();

export { captureLogs, tempDir, within, type LogCapture };
/** polls until cond() is true */
export const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> => {
  await waitFor(cond, what, ms);
};

export const DAY = 86_400_000;
let sharedTls: ReturnType<typeof createFakeTeleportTls> | undefined;
/** one CA and server cert per test file: RSA keys are slow */
export const fakeTls = () => (sharedTls ??= createFakeTeleportTls());

export function writeIdentity(fake: FakeTeleport, file: string, user = 'bot-datadog', ttlHours = 12): void {
  const { cert, key } = fake.issueClientCert({ user, ttlHours });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, formatIdentityFile({ key, cert, cas: [fake.ca] }), { mode: 0o600 });
  fs.renameSync(tmp, file); // like tbot: the reader never sees half a file
}

export interface EmitHook {
  /** after a durable emit */
  after?(records: SourceRecord[], state: StateOp[]): void;
  /** a dry run: through the real pipeline (every tag routed) over a fresh DryRunState; the spool is not used */
  dryRun?: boolean;
}

export function spoolDeps(spool: Spool, logger: Logger, hook: EmitHook = {}, now?: () => number): PollerDeps {
  if (hook.dryRun) return { ...pipelinePort(logger, hook), logger, now };
  return {
    async emit(records, state) {
      await spool.append(
        records.map((r) => JSON.stringify(r)),
        state,
      );
      hook.after?.(records, state);
    },
    waitForSpace: (signal) => spool.waitForSpace(signal),
    getState: (k) => spool.getState(k),
    listState: (p) => spool.listState(p),
    putState: (ops) => spool.putState(ops),
    logger,
    now,
  };
}

/**
 * the app's pipeline in front of the poller: a real router (every tag sent) and pipeline over `spool`; for a dry
 * run over a fresh DryRunState, as openStorage gives with no storage yet
 */
export function pipelinePort(logger: Logger, hook: EmitHook = {}, spool?: Spool): PollerPort {
  const router = createRouter({
    ...sectionDefaults('routing'),
    rules: [{ pattern: '**', type: 'datadog' }],
    unmatched: 'drop',
    hostname: 'h',
  });
  const port = createPipeline({
    router,
    spool: hook.dryRun || !spool ? new DryRunState(1 << 20) : spool,
    dryRun: hook.dryRun ?? false,
    logger,
  }).teleport;
  return {
    ...port,
    async emit(records, state) {
      await port.emit(records, state);
      hook.after?.(records, state);
    },
  };
}

/** takes and acks everything queued now */
export async function drain(spool: Spool): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  while (spool.stats().records - spool.stats().inFlight > 0) {
    const items = await spool.take(1000, 64 * 1024 * 1024);
    for (const it of items) out.push(JSON.parse(it.value) as SourceRecord);
    await spool.ack(items);
  }
  return out;
}

export interface Env {
  fake: FakeTeleport;
  dir: string;
  identityFile: string;
  spoolPath: string;
  spool: Spool;
  logs: LogCapture;
  reopenSpool(maxBytes?: number): Promise<Spool>;
  options(extra?: Partial<TeleportSourceOptions>): TeleportSourceOptions;
  source(extra?: Partial<TeleportSourceOptions>, hook?: EmitHook): TeleportSource;
  close(): Promise<void>;
}

export async function setup(o: { dataset?: FakeDataset; maxBytes?: number } = {}): Promise<Env> {
  const fake = await startFakeTeleport({ tls: fakeTls(), dataset: o.dataset });
  const dir = tempDir('tdf-teleport-');
  const identityFile = path.join(dir, 'identity');
  writeIdentity(fake, identityFile);
  const spoolPath = path.join(dir, 'spool');
  const logs = captureLogs();
  const env: Env = {
    fake,
    dir,
    identityFile,
    spoolPath,
    spool: await openSpool({ syncIntervalMs: SYNC_MS, path: spoolPath, maxBytes: o.maxBytes ?? 256 * 1024 * 1024 }),
    logs,
    async reopenSpool(maxBytes = o.maxBytes ?? 256 * 1024 * 1024) {
      await env.spool.close();
      env.spool = await openSpool({ syncIntervalMs: SYNC_MS, path: spoolPath, maxBytes });
      return env.spool;
    },
    options(extra = {}) {
      const first = fake.dataset.events.length > 0 ? fake.dataset.events.timeAt(0) : Date.now();
      return {
        ...sectionDefaults('teleport'),
        addr: fake.address,
        identity: identityFile,
        startTime: new Date(Math.floor(first / DAY) * DAY),
        concurrency: 3,
        pollIntervalMs: 100,
        exitOnLastEvent: true,
        retryBaseMs: 30,
        retryMaxMs: 200,
        sessionRetryBaseMs: 30,
        sessionRetryMaxMs: 200,
        timeoutMs: 5000,
        ...extra,
      };
    },
    source(extra = {}, hook = {}) {
      return createTeleportSource(env.options(extra), spoolDeps(env.spool, logs.logger, hook));
    },
    async close() {
      await env.spool.close().catch(() => {});
      await fake.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

/** the audit event ids of the dataset (and of events added since) */
export function datasetIds(ds: FakeDataset, filter: (type: string) => boolean = () => true): string[] {
  const out: string[] = [];
  for (let i = 0; i < ds.events.length; i++) if (filter(ds.events.typeAt(i))) out.push(ds.events.eventAt(i).id);
  return out;
}

/** expected session records: `<sid>#<ei>` of every recording event whose type is not skipped */
export function recordingKeys(ds: FakeDataset, skip: string[] = ['print']): string[] {
  const out: string[] = [];
  for (const sid of ds.sessionIds) {
    const run = ds.recording(sid)!;
    for (let i = 0; i < run.length; i++) {
      const e = run.eventAt(i);
      if (!skip.includes(e.type)) out.push(`${sid}#${e.index}`);
    }
  }
  return out;
}

export function auditIds(records: SourceRecord[], tag = 'events.log'): string[] {
  return records.filter((r) => r.tag === tag).map((r) => String(r.record.uid ?? ''));
}

export function sessionKeys(records: SourceRecord[]): string[] {
  return records
    .filter((r) => r.tag.startsWith('session.'))
    .map((r) => `${r.tag.slice('session.'.length, -'.log'.length)}#${String(r.record.ei)}`);
}

/** asserts each id appears exactly once and the set equals `expected` */
export function exactlyOnce(
  got: string[],
  expected: string[],
): { missing: string[]; dupes: string[]; extra: string[] } {
  const counts = new Map<string, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const want = new Set(expected);
  return {
    missing: expected.filter((e) => !counts.has(e)),
    dupes: [...counts].filter(([, n]) => n > 1).map(([k]) => k),
    extra: [...counts.keys()].filter((k) => !want.has(k)),
  };
}

/** a setup() per test, all closed after the file's tests: `const env = trackedEnvs(after)` */
export function trackedEnvs(
  after: (fn: () => Promise<void>) => void,
): (o?: Parameters<typeof setup>[0]) => Promise<Env> {
  const envs: Env[] = [];
  after(async () => {
    for (const e of envs) await e.close();
  });
  return async (o) => {
    const e = await setup(o);
    envs.push(e);
    return e;
  };
}

export const today = Date.parse(new Date().toISOString().slice(0, 10));

/** four dates ending yesterday, many chunks, recordings */
export const bigDataset = (): FakeDataset =>
  generatedDataset({
    dates: { start: new Date(today - 4 * DAY), days: 4 },
    eventsPerDate: 400,
    chunksPerDate: 5,
    sessions: { count: 3, eventsPerSession: 60 },
    seed: 7,
  });

export function assertExactlyOnce(got: string[], expected: string[], what: string): void {
  const r = exactlyOnce(got, expected);
  assert.deepEqual(
    { missing: r.missing.length, dupes: r.dupes.length, extra: r.extra.length },
    { missing: 0, dupes: 0, extra: 0 },
    `${what}: ${JSON.stringify({ missing: r.missing.slice(0, 3), dupes: r.dupes.slice(0, 3), extra: r.extra.slice(0, 3) })}`,
  );
  assert.equal(got.length, expected.length);
}
