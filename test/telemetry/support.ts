// shared pieces of the telemetry and cli tests: temp dirs, a config, component snapshots that tests change by hand
// (for the components not under test), and a reader of the prometheus text format.
import { loadConfig, type Config } from '../../src/config/load.js';
import type { IngestStats } from '../../src/sources/http/server.js';
import { initialStatus, type TeleportSourceStatus } from '../../src/sources/teleport/source.js';

export { waitFor } from '../helpers/wait.js';
export { tempDir } from '../helpers/temp.js';
export { silentLogger } from '../helpers/logs.js';

export const API_KEY = 'dd-secret-api-key-0123456789';
export const PASSPHRASE = 'ingest-key-passphrase-secret';

/** a config as `start` would load it (partial: no certificate files needed) */
export function testConfig(
  storage: string,
  flags: Record<string, unknown> = {},
  env: Record<string, string> = {},
): Readonly<Config> {
  return loadConfig({
    flags: { storage, 'ingest-enabled': true, 'teleport-enabled': true, 'ingest-key-passphrase': PASSPHRASE, ...flags },
    env: { DD_API_KEY: API_KEY, ...env },
    partial: true,
  });
}

export function ingestStats(): IngestStats {
  return {
    ack: 'fsync',
    requests: 0,
    records: 0,
    status4xx: 0,
    status5xx: 0,
    status503: 0,
    tlsRefused: 0,
    tlsFailed: 0,
  };
}

export function teleportStatus(): TeleportSourceStatus {
  return {
    ...initialStatus(),
    state: 'running',
    mode: 'export',
    date: '2024-05-01',
    identity: { file: '/var/lib/teleport/identity', user: 'bot-forwarder', notAfter: '2030-01-01T00:00:00.000Z' },
    identityRefreshedAt: null,
  };
}

/** the value of one series in a prometheus text exposition; undefined when absent */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    if (Object.keys(labels).length !== Object.keys(got).length) continue;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** every label set of one metric name */
export function series(text: string, name: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[l[1]!] = l[2]!;
    out.push(got);
  }
  return out;
}

/** an output that keeps what is written */
export function capture(): { write(text: string): boolean; text(): string } {
  let buf = '';
  return {
    write(text: string) {
      buf += text;
      return true;
    },
    text: () => buf,
  };
}
