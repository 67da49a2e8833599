// the admin API's client: what `status` and `spool` ask a running forwarder over http. never throws for network
// errors, so that the commands can fall back to reading the storage.
import type { Config } from '../config/load.js';
import { clean, hostPort } from '../format.js';

const DEFAULT_TIMEOUT_MS = 5000; // 5 s

/** the admin api of the forwarder this config runs, as a url this host can reach; null when it is off */
export function adminBaseUrl(config: Readonly<Config>): string | null {
  if (!config.admin.enabled) return null;
  let host = config.admin.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  return `http://${hostPort(host, config.admin.port)}`;
}

export function normalizeBaseUrl(url: string): string {
  let u = url.trim();
  if (!/^https?:\/\//i.test(u)) u = `http://${u}`;
  return u.replace(/\/+$/, '').replace(/\/status$/, '');
}

export type AdminAnswer =
  { ok: true; status: number; body: unknown } | { ok: false; status: number | null; reason: string };

/** one json request to the admin api; never throws for network errors (they come back as ok: false) */
export async function fetchAdmin(
  base: string,
  path: string,
  options: { method?: 'GET' | 'POST'; body?: unknown; timeoutMs?: number } = {},
): Promise<AdminAnswer> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method: options.method ?? 'GET',
      headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (err) {
    return { ok: false, status: null, reason: networkReason(err) };
  }
  const text = await res.text().catch(() => '');
  if (res.status !== 200)
    return { ok: false, status: res.status, reason: `HTTP ${res.status}: ${clean(text.trim()).slice(0, 300)}` };
  try {
    return { ok: true, status: 200, body: JSON.parse(text) };
  } catch {
    return { ok: false, status: 200, reason: "the answer is not JSON (is this the forwarder's admin port?)" };
  }
}

function networkReason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'no answer in time';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
