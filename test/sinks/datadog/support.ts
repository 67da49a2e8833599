// shared pieces of the sink tests: a real spool on disk in a temp dir, a logger that records what it is told,
// log generators and a polling wait (a hang guard, not a timing assertion).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openSpool } from '../../../src/spool/spool.js';
import type { Spool } from '../../../src/spool/types.js';
import type { Logger } from '../../../src/log.js';
import { sectionDefaults } from '../../../src/config/sections.js';

// the spool's background sync, as configured by default (ingest.sync-interval)
const SYNC_MS = sectionDefaults('ingest').syncIntervalMs;

export { waitFor } from '../../helpers/wait.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  lines: LogLine[];
}

/** a logger that keeps every line; `events` (if given) gets them too, to check order against other components */
export function recordingLogger(events?: unknown[]): RecordingLogger {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg: string) => {
    const line = { level, msg, obj: obj as Record<string, unknown> };
    lines.push(line);
    events?.push({ source: 'log', ...line });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface TestSpool {
  spool: Spool;
  dir: string;
  /** close and open again from the same directory (a restart) */
  reopen(): Promise<Spool>;
}

/** a real LevelDB spool in a fresh temp dir, closed and removed after the test */
export async function tempSpool(t: TestContext, maxBytes = 256 * 1024 * 1024): Promise<TestSpool> {
  const dir = mkdtempSync(join(tmpdir(), 'tdf-sink-'));
  const state: TestSpool = {
    spool: await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes }),
    dir,
    async reopen() {
      await state.spool.close();
      state.spool = await openSpool({ syncIntervalMs: SYNC_MS, path: dir, maxBytes });
      return state.spool;
    },
  };
  t.after(async () => {
    await state.spool.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  return state;
}

/** a teleport-like audit event as json text, with a unique `id` and roughly `size` bytes */
export function auditLog(i: number, size = 500, extra: Record<string, unknown> = {}): string {
  const base = {
    id: `rec-${i}`,
    ddsource: 'teleport',
    service: 'teleport',
    event: 'session.start',
    code: 'T2000I',
    user: 'alice',
    login: 'root',
    '@timestamp': new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString(),
    addr: { remote: '10.0.0.1:5555', local: '10.0.0.2:3022' },
    ...extra,
  };
  const pad = Math.max(0, size - JSON.stringify(base).length - 10);
  return JSON.stringify({ ...base, pad: 'x'.repeat(pad) });
}

export function auditLogs(from: number, count: number, size?: number): string[] {
  return Array.from({ length: count }, (_, k) => auditLog(from + k, size));
}

/** ids of the logs the intake accepted, with duplicates kept */
export function receivedIds(logs: Array<Record<string, unknown>>): string[] {
  return logs.map((l) => String(l.id));
}

export function expectedIds(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, k) => `rec-${from + k}`);
}
