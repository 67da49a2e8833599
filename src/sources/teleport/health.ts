// the poller's health as readiness and /status give it: its check, and the warnings its status calls for. pure.
import { formatDuration } from '../../format.js';
import { degraded, fail, pass, type Check } from '../../health.js';
import { FIRST_MESSAGE_IDLE_FACTOR } from './batches.js';
import type { TeleportSourceStatus } from './source.js';

export const TELEPORT_THRESHOLDS = Object.freeze({
  identityWarnSeconds: 24 * 3600,
  /**
   * with refresh on, warn only when less than this many refresh intervals (and at least identityRefreshWarnSeconds)
   * are left: tbot renews its 1 h certificates every 20 min, so a healthy one never has under 40 min left
   */
  identityRefreshIntervalsLeft: 10,
  identityRefreshWarnSeconds: 30 * 60,
  /** the poller failing for this long (at least; 3 poll intervals if longer) is a warning */
  teleportFailingWarnSeconds: 60,
});

/** quiet teleport streams given a warning each; the rest are counted */
const QUIET_WARNED = 3;

/** the poller's settings its health depends on */
export interface TeleportHealthConfig {
  pollIntervalMs: number;
  streamIdleTimeoutMs: number;
  refreshEnabled: boolean;
  refreshIntervalMs: number;
}

export type TeleportCheck = Check<'teleport'>;

/** a running poller whose calls have all failed since the start: it has never reached teleport */
function neverReached(t: TeleportSourceStatus): boolean {
  return t.state === 'running' && t.lastSuccessAt === null && t.lastError !== null;
}

/**
 * how long a running poller has read nothing, once that is worth saying (3 poll intervals, at least a minute: a
 * restart of the auth service should not raise it); null while it reads or has failed only briefly
 */
export function readingNothingFor(t: TeleportSourceStatus, c: TeleportHealthConfig, now: number): number | null {
  if (t.state !== 'running' || t.failingSince === null) return null;
  const ms = now - t.failingSince;
  return ms >= Math.max(TELEPORT_THRESHOLDS.teleportFailingWarnSeconds * 1000, 3 * c.pollIntervalMs) ? ms : null;
}

export function teleportCheck(
  t: TeleportSourceStatus | undefined,
  c: TeleportHealthConfig,
  now: number,
): TeleportCheck {
  if (!t) return fail('teleport', 'the teleport poller has not started');
  if (t.state !== 'running')
    return fail('teleport', `the teleport poller is ${t.state}${t.lastError ? `: ${t.lastError}` : ''}`);
  // degraded, not a readiness failure: the ingest on the same pod still takes events
  const silent = readingNothingFor(t, c, now);
  if (neverReached(t)) return degraded('teleport', `running, has not reached Teleport yet: ${t.lastError}`);
  if (t.lastError && silent !== null)
    return degraded('teleport', `running, reading nothing for ${formatDuration(silent / 1000)} after: ${t.lastError}`);
  if (t.lastError) return pass('teleport', `running, retrying after: ${t.lastError}`);
  if (t.spoolWaitingSince !== null) {
    return pass(
      'teleport',
      `running, waiting for spool space for ${formatDuration((now - t.spoolWaitingSince) / 1000)} (the spool is full: reading resumes as it drains)`,
    );
  }
  return pass('teleport', `running${t.caughtUp ? ', caught up' : ''}`);
}

/** seconds until the identity expires (negative once it has), null when unknown */
export function identityExpiresIn(t: TeleportSourceStatus, now: number): number | null {
  const notAfter = t.identity ? Date.parse(t.identity.notAfter) : NaN;
  return Number.isFinite(notAfter) ? (notAfter - now) / 1000 : null;
}

export function teleportWarnings(t: TeleportSourceStatus, c: TeleportHealthConfig, now: number): string[] {
  const warnings: string[] = [];
  for (const chunk of t.stuckChunks) {
    warnings.push(
      `Teleport export chunk ${chunk.chunk} of ${chunk.date} has failed ${chunk.failures} times in a row since ${new Date(chunk.since).toISOString()} (${chunk.lastError}): its events are not exported until it succeeds. Check the Auth Service's logs and its audit storage.`,
    );
  }
  for (const q of t.quietStreams.slice(0, QUIET_WARNED)) {
    const cancelAfter = (q.started ? 1 : FIRST_MESSAGE_IDLE_FACTOR) * c.streamIdleTimeoutMs;
    warnings.push(
      `Teleport ${q.what} has sent nothing for ${formatDuration(q.quietForMs / 1000)} with its connection up${q.started ? '' : ' (nothing yet: the auth service may still be preparing it)'}; it is cancelled and retried from its cursor after ${formatDuration(cancelAfter / 1000)} of silence (stream-idle-timeout).`,
    );
  }
  const moreQuiet = t.streamsQuiet - Math.min(QUIET_WARNED, t.quietStreams.length);
  if (moreQuiet > 0)
    warnings.push(
      `${moreQuiet} more Teleport ${moreQuiet === 1 ? 'stream has' : 'streams have'} sent nothing for as long.`,
    );
  if (t.state === 'failed')
    warnings.push(
      `The Teleport poller failed: ${t.lastError ?? 'see the logs'}; restart the forwarder once the cause is fixed.`,
    );
  const silent = readingNothingFor(t, c, now);
  if (neverReached(t)) {
    const since = t.failingSince ?? now;
    warnings.push(
      `The Teleport poller has not reached Teleport yet (failing for ${formatDuration(Math.max(0, now - since) / 1000)}): ${t.lastError}. Nothing is read until it does; \`check\` tests the address, the identity and the role.`,
    );
  } else if (silent !== null) {
    const since = new Date(now - silent).toISOString();
    const last =
      t.lastSuccessAt === null
        ? 'no call has succeeded since the start'
        : `the last call that succeeded was at ${new Date(t.lastSuccessAt).toISOString()}`;
    warnings.push(
      `The Teleport poller has read nothing since ${since} (${formatDuration(silent / 1000)}; ${last}): ${t.lastError ?? 'see the logs'}. \`check\` tests the address, the identity and the role.`,
    );
  }
  // tbot renews short-lived identities on its own: with refresh on, only an identity about to lapse is news
  const identityWarn = c.refreshEnabled
    ? Math.min(
        TELEPORT_THRESHOLDS.identityWarnSeconds,
        Math.max(
          TELEPORT_THRESHOLDS.identityRefreshWarnSeconds,
          (TELEPORT_THRESHOLDS.identityRefreshIntervalsLeft * c.refreshIntervalMs) / 1000,
        ),
      )
    : TELEPORT_THRESHOLDS.identityWarnSeconds;
  const identityExpiresInSeconds = identityExpiresIn(t, now);
  if (identityExpiresInSeconds !== null && identityExpiresInSeconds < identityWarn) {
    warnings.push(
      identityExpiresInSeconds <= 0
        ? `The Teleport identity ${t.identity!.file} has expired: renew it (tbot, or tctl auth sign).`
        : `The Teleport identity ${t.identity!.file} expires in ${formatDuration(identityExpiresInSeconds)}: make sure it is renewed.`,
    );
  }
  return warnings;
}
