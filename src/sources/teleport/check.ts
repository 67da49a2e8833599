// dials the Teleport Auth Service the way the poller does and makes one cheap call, GetEventExportChunks for a
// date two days ahead (an empty answer), under a short deadline. an answer proves the address, the TLS trust in
// both directions and the role; UNIMPLEMENTED proves the same on an Auth Service without the export API.
import * as grpc from '@grpc/grpc-js';
import { createAuditLogClient, resolveMode } from './client.js';
import type { TlsIdentity } from './identity.js';
import { explainTeleportError } from './explain.js';
import { result, type CheckResult } from '../../checks/report.js';

export interface ProbeOptions {
  addr: string;
  identity: TlsIdentity;
  serverName: string;
  /** teleport.mode (default auto) and teleport.cluster-name, as the poller takes them */
  mode?: 'auto' | 'direct' | 'proxy';
  clusterName?: string;
  apiVersion: string;
  /** the whole probe, connection included */
  timeoutMs: number;
  now?: number;
}

const NAME = 'teleport.connect';

export async function probeAuthService(o: ProbeOptions): Promise<CheckResult> {
  if (!/^\S+:\d+$/.test(o.addr)) return result('fail', NAME, `teleport.addr must be host:port, got "${o.addr}"`);
  const mode = resolveMode(o.mode ?? 'auto', o.addr);
  const cluster = o.clusterName ?? o.identity.clusterName;
  if (mode === 'proxy' && !cluster) {
    return result(
      'fail',
      NAME,
      `${o.addr} is a proxy address (TLS routing) and the identity does not name its cluster: set teleport.cluster-name`,
    );
  }
  const who = o.identity.user ? `as "${o.identity.user}"` : 'with the identity';
  const via = mode === 'proxy' ? ' through the proxy' : '';
  const client = createAuditLogClient({
    addr: o.addr,
    identity: o.identity,
    mode,
    serverName: o.serverName,
    clusterName: cluster,
    apiVersion: o.apiVersion,
    timeoutMs: o.timeoutMs,
  });
  const signal = AbortSignal.timeout(o.timeoutMs);
  try {
    await client.getEventExportChunks(new Date((o.now ?? Date.now()) + 2 * 86_400_000), signal);
    return result('pass', NAME, `connected to ${o.addr}${via} ${who}: the audit log export API answers`);
  } catch (err) {
    if (signal.aborted)
      return result(
        'fail',
        NAME,
        `no answer from ${o.addr} within ${Math.round(o.timeoutMs / 1000)} s: check the address and that this host may reach it`,
      );
    if ((err as grpc.ServiceError).code === grpc.status.UNIMPLEMENTED) {
      return result(
        'pass',
        NAME,
        `connected to ${o.addr}${via} ${who}; this Auth Service has no export API, so the poller will use the older search API`,
      );
    }
    // the poller's own words for it (explain.ts), so check and the running poller agree
    const x = explainTeleportError(err, 'events', {
      addr: o.addr,
      serverName: o.serverName,
      identity: o.identity,
      now: o.now ?? Date.now(),
      route: { mode, cluster },
    });
    const lead = x.summary === 'teleport auth service unreachable' ? `could not connect to ${o.addr}${via}` : x.summary;
    return result('fail', NAME, `${lead} (${x.err})${x.hint ? `: ${x.hint}` : ''}`);
  } finally {
    client.close();
  }
}
