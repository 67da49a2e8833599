// traffic for the fault, hostile and soak runs: a forwarder started through the cli with its admin api found, a
// local intake that counts every delivered record by unique id, and a load of unique ids posted over mTLS on
// several connections. the tally compares acknowledged (200) ids with delivered ones: lost, duplicated, extra.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeIntake, type FakeIntake, type FakeIntakeOptions } from '../../src/fakes/intake.js';
import { runForwarder, waitFor, writeConfig, type RunningForwarder } from './forwarder.js';
import { MtlsClient, writeTlsFiles, type PostResult, type TlsFiles } from './mtls.js';

/** the record field that carries the unique id (teleport events have a uid) */
export const ID_FIELD = 'uid';

export interface CountingIntake {
  intake: FakeIntake;
  /** deliveries per id (a 202 that carried it); more than 1 is a duplicate */
  counts: Map<string, number>;
}

/** the local datadog intake with bounded memory: no logs kept, only a count per id */
export async function startCountingIntake(
  options: Omit<FakeIntakeOptions, 'keepLogs' | 'idField' | 'onLogs'> = {},
): Promise<CountingIntake> {
  const counts = new Map<string, number>();
  const intake = await startFakeIntake({
    ...options,
    keepLogs: false,
    idField: ID_FIELD,
    onLogs: (logs) => {
      for (const log of logs) {
        const id = log[ID_FIELD];
        if (typeof id === 'string') counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    },
  });
  return { intake, counts };
}

export interface ConfigParts {
  dir: string;
  tls: TlsFiles;
  intakeUrl: string;
  /** default <dir>/storage */
  storage?: string;
  /** extra top-level keys */
  top?: string;
  /** extra keys under [ingest] */
  ingest?: string;
  /** extra keys under [datadog] */
  datadog?: string;
  /** extra tables after everything else */
  tail?: string;
  name?: string;
}

/** writes a forwarder.toml for the ingest path and returns its path */
export function writeForwarderConfig(p: ConfigParts): string {
  return writeConfig(
    p.dir,
    `
storage = "${p.storage ?? join(p.dir, 'storage')}"
hostname = "fault-host"
${p.top ?? ''}

[ingest]
host = "127.0.0.1"
port = 0
ca = "${p.tls.paths.ca}"
cert = "${p.tls.paths.cert}"
key = "${p.tls.paths.key}"
${p.ingest ?? ''}

[datadog]
url = "${p.intakeUrl}"
${p.datadog ?? ''}
${p.tail ?? ''}
`,
    p.name,
  );
}

export interface Forwarder extends RunningForwarder {
  /** http://127.0.0.1:<admin port> */
  adminUrl: string;
  getJson(path: string): Promise<any>;
  getText(path: string): Promise<{ status: number; text: string }>;
}

/** the cli `start` with a config file; resolves once it listens (the ingest, unless ingest is false), with the
 * admin api's address. a forwarder that does not get there is killed, not left behind */
export async function startForwarder(
  config: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
  opts: { ingest?: boolean } = {},
): Promise<Forwarder> {
  const fw = await runForwarder(['start', '--config', config, ...extraArgs], env, { waitForIngest: false });
  let adminUrl: string;
  try {
    const line = await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('admin server listening'));
    adminUrl = `http://127.0.0.1:${line.port}`;
    if (opts.ingest !== false)
      fw.port = (await fw.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('ingest listening'))).port;
  } catch (err) {
    if (fw.proc.exitCode === null && fw.proc.signalCode === null) fw.proc.kill('SIGKILL');
    await fw.exited;
    throw err;
  }
  const getText = async (path: string) => {
    const res = await fetch(adminUrl + path, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, text: await res.text() };
  };
  return Object.assign(fw, {
    adminUrl,
    getText,
    async getJson(path: string) {
      return JSON.parse((await getText(path)).text);
    },
  });
}

export interface LoadOptions {
  port: number;
  tls: TlsFiles;
  /** parallel keep-alive connections, one request in flight on each; default 8 */
  connections?: number;
  /** ids are `<prefix>-<n>` */
  prefix: string;
  /** default /test.log */
  path?: string;
  /** like teleport-event-handler: a post without a 200 is sent again (same id) after a backoff, until stopped */
  retry?: boolean;
  /** decorrelated backoff between retries (the go handler uses 1 s base, 10 s cap) */
  backoff?: { baseMs: number; capMs: number };
  /** stop once this many ids were acknowledged */
  limit?: number;
  /** padding bytes per record */
  padBytes?: number;
  /** pause between two posts on one connection */
  pauseMs?: number;
  /** called with every answer (or error) */
  onResult?: (id: string, result: PostResult | Error) => void;
}

export interface Load {
  /** ids answered 200 */
  readonly acked: Set<string>;
  /** posts sent, retries included */
  readonly sent: () => number;
  /** answers by status ('error' for no answer) */
  readonly statuses: Map<string, number>;
  /** Retry-After values seen on 503s */
  readonly retryAfter: Set<string>;
  /** ids posted that got no 200 (yet); in retry mode they are retried */
  readonly unanswered: Set<string>;
  /** resolves when the workers are done (limit reached or stopped) */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export function eventBody(id: string, padBytes = 0): string {
  const ev: Record<string, unknown> = {
    event: 'user.login',
    code: 'T1000I',
    [ID_FIELD]: id,
    user: 'fault',
    success: true,
    time: new Date().toISOString(),
  };
  if (padBytes > 0) ev.pad = 'p'.repeat(padBytes);
  return JSON.stringify(ev);
}

export function startLoad(o: LoadOptions): Load {
  const connections = o.connections ?? 8;
  const client = new MtlsClient(o.port, o.tls, connections);
  const backoff = o.backoff ?? { baseMs: 200, capMs: 2000 };
  const acked = new Set<string>();
  const unanswered = new Set<string>();
  const statuses = new Map<string, number>();
  const retryAfter = new Set<string>();
  let sent = 0;
  let seq = 0;
  let stopped = false;
  const wake = new AbortController();
  const bump = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);

  const worker = async (): Promise<void> => {
    while (!stopped && (o.limit === undefined || seq < o.limit)) {
      const id = `${o.prefix}-${seq++}`;
      let delay = backoff.baseMs;
      for (;;) {
        let ok = false;
        sent++;
        try {
          const res = await client.post(o.path ?? '/test.log', eventBody(id, o.padBytes));
          bump(String(res.status));
          if (res.status === 503 && typeof res.headers['retry-after'] === 'string')
            retryAfter.add(res.headers['retry-after']);
          o.onResult?.(id, res);
          ok = res.status === 200;
        } catch (err) {
          bump('error');
          o.onResult?.(id, err as Error);
        }
        if (ok) {
          acked.add(id);
          unanswered.delete(id);
          break;
        }
        unanswered.add(id);
        if (!o.retry || stopped) break;
        delay = Math.min(backoff.capMs, backoff.baseMs + Math.random() * (delay * 3 - backoff.baseMs));
        await sleep(delay, undefined, { signal: wake.signal }).catch(() => {});
        if (stopped) break;
      }
      if (o.pauseMs) await sleep(o.pauseMs, undefined, { signal: wake.signal }).catch(() => {});
    }
  };
  const done = Promise.all(Array.from({ length: connections }, worker)).then(() => client.close());
  return {
    acked,
    sent: () => sent,
    statuses,
    retryAfter,
    unanswered,
    done,
    async stop() {
      stopped = true;
      wake.abort();
      await done;
    },
  };
}

export interface Tally {
  /** distinct ids answered 200 */
  acknowledged: number;
  /** acknowledged ids that reached the intake */
  delivered: number;
  /** acknowledged ids that never reached the intake */
  lost: string[];
  /** deliveries beyond the first, over all ids */
  duplicated: number;
  /** ids delivered that were never acknowledged (the answer was lost: a kill, a reset) */
  unacknowledgedDelivered: number;
}

export function tally(acked: Iterable<string>, counts: Map<string, number>): Tally {
  const ackSet = acked instanceof Set ? (acked as Set<string>) : new Set(acked);
  const lost: string[] = [];
  let delivered = 0;
  for (const id of ackSet) {
    if ((counts.get(id) ?? 0) > 0) delivered++;
    else lost.push(id);
  }
  let duplicated = 0;
  let extra = 0;
  for (const [id, n] of counts) {
    duplicated += n - 1;
    if (!ackSet.has(id)) extra++;
  }
  return { acknowledged: ackSet.size, delivered, lost, duplicated, unacknowledgedDelivered: extra };
}

/** one line with the figures RELIABILITY.md quotes */
export function figures(scenario: string, t: Tally, extra: Record<string, unknown> = {}): string {
  const more = Object.entries(extra)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`)
    .join('');
  return `figures: scenario=${JSON.stringify(scenario)} acknowledged=${t.acknowledged} delivered=${t.delivered} lost=${t.lost.length} duplicated=${t.duplicated} unacknowledged_delivered=${t.unacknowledgedDelivered}${more}`;
}

/** waits until every acknowledged id reached the intake (a hang guard, not a timing assertion) */
export async function waitDelivered(
  acked: Set<string>,
  counts: Map<string, number>,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  await waitFor(
    () => {
      for (const id of acked) if (!counts.has(id)) return false;
      return true;
    },
    `${what}: every acknowledged record at the intake (${acked.size} acknowledged, ${counts.size} distinct delivered)`,
    timeoutMs,
  );
}

/** status counts as `200:123 503:4 error:1` */
export function statusLine(statuses: Map<string, number>): string {
  return [...statuses.entries()]
    .sort()
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
}

export interface RigOptions {
  apiKey: string;
  /** more keys the intake accepts (default only apiKey) */
  intake?: Omit<FakeIntakeOptions, 'keepLogs' | 'idField' | 'onLogs'>;
  top?: string;
  ingest?: string;
  datadog?: string;
  tail?: string;
  /** storage directory (default <dir>/storage) */
  storage?: string;
  /** extra env for the forwarder */
  env?: Record<string, string>;
}

/** everything one fault case needs, removed after the test: temp dir, mTLS files, counting intake, config */
export interface Rig extends CountingIntake {
  dir: string;
  tls: TlsFiles;
  config: string;
  storage: string;
  env: Record<string, string>;
  /** starts the forwarder (again) on the same storage; every one started is stopped after the test */
  start(extraArgs?: string[]): Promise<Forwarder>;
}

export async function createRig(t: { after(fn: () => unknown): void }, o: RigOptions): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-fault-'));
  const tls = writeTlsFiles(dir);
  const { intake, counts } = await startCountingIntake({ apiKeys: [o.apiKey], ...o.intake });
  const storage = o.storage ?? join(dir, 'storage');
  const config = writeForwarderConfig({
    dir,
    tls,
    intakeUrl: intake.url,
    storage,
    top: o.top,
    ingest: o.ingest,
    datadog: o.datadog,
    tail: o.tail,
  });
  const env = { DD_API_KEY: o.apiKey, ...o.env };
  const started: Forwarder[] = [];
  t.after(async () => {
    for (const fw of started) {
      if (fw.proc.exitCode === null && fw.proc.signalCode === null) {
        fw.proc.kill('SIGKILL');
        await fw.exited;
      }
    }
    await intake.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    tls,
    intake,
    counts,
    config,
    storage,
    env,
    async start(extraArgs = []) {
      const fw = await startForwarder(config, env, extraArgs);
      started.push(fw);
      return fw;
    },
  };
}
