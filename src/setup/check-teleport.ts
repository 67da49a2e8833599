// dials the Teleport Auth Service the way the poller does and makes one cheap call, GetEventExportChunks for a
// date two days ahead (an empty answer), under a short deadline. an answer proves the address, the TLS trust in
// both directions and the role; UNIMPLEMENTED proves the same on an Auth Service without the export API.
import * as grpc from '@grpc/grpc-js';
import { createAuditLogClient, resolveMode } from '../sources/teleport/client.js';
import type { TlsIdentity } from '../sources/teleport/identity.js';
import { result, type CheckResult } from './report.js';

export interface ProbeOptions {
  addr: string;
  identity: TlsIdentity;
  serverName: string;
  apiVersion: string;
  /** the whole probe, connection included */
  timeoutMs: number;
  now?: number;
}

const NAME = 'teleport.connect';

export async function probeAuthService(o: ProbeOptions): Promise<CheckResult> {
  if (!/^\S+:\d+$/.test(o.addr)) return result('fail', NAME, `teleport.addr must be host:port, got "${o.addr}"`);
  const mode = resolveMode('auto', o.addr);
  if (mode === 'proxy' && !o.identity.clusterName) {
    return result('fail', NAME, `${o.addr} is a proxy address (TLS routing) and the identity does not name its cluster: sign the identity again`);
  }
  const who = o.identity.user ? `as "${o.identity.user}"` : 'with the identity';
  const via = mode === 'proxy' ? ' through the proxy' : '';
  const client = createAuditLogClient({
    addr: o.addr,
    identity: o.identity,
    mode,
    serverName: o.serverName,
    apiVersion: o.apiVersion,
    timeoutMs: o.timeoutMs,
  });
  const signal = AbortSignal.timeout(o.timeoutMs);
  try {
    await client.getEventExportChunks(new Date((o.now ?? Date.now()) + 2 * 86_400_000), signal);
    return result('pass', NAME, `connected to ${o.addr}${via} ${who}: the audit log export API answers`);
  } catch (err) {
    const e = err as grpc.ServiceError;
    // grpc-js appends an empty "Resolution note:" to connection errors; keep the part that says what failed
    const details = (e.details || e.message || '').replace(/\.?\s*Resolution note:[\s\S]*$/, '').replace(/Last error: Error: /, 'last error: ').trim();
    if (signal.aborted) return result('fail', NAME, `no answer from ${o.addr} within ${Math.round(o.timeoutMs / 1000)} s: check the address and that this host may reach it`);
    switch (e.code) {
      case grpc.status.UNIMPLEMENTED:
        return result('pass', NAME, `connected to ${o.addr}${via} ${who}; this Auth Service has no export API, so the poller will use the older search API`);
      case grpc.status.PERMISSION_DENIED:
        return result('fail', NAME, `connected to ${o.addr} ${who}, but it may not read the audit log (${details}): give the user the role in teleport-datadog-forwarder-role.yaml`);
      case grpc.status.UNAUTHENTICATED:
        return result('fail', NAME, `${o.addr} refused the identity (${details}): sign a new identity file for this cluster`);
      case grpc.status.UNAVAILABLE:
        return result('fail', NAME, `could not connect to ${o.addr}${via}: ${details}. Check the address, and that the identity's CA is this cluster's (a TLS error means one side does not trust the other)`);
      default:
        return result('fail', NAME, `${o.addr} answered ${grpc.status[e.code] ?? e.code}: ${details}`);
    }
  } finally {
    client.close();
  }
}
