// the identity the poller uses, and its refresh: re-read the identity file (tbot renews it) every refresh
// interval or on SIGHUP, give a new one to the client, keep the current one when the file is unusable; with
// refresh on, an expired identity is waited out instead of failing start.
import type { Logger } from '../../log.js';
import { sleep } from '../../sleep.js';
import type { AuditLogClient } from './client.js';
import { PermanentFailures, explainedText, type ExplainedError } from './explain.js';
import { IdentityExpiredError, loadIdentity, type IdentitySource, type TlsIdentity } from './identity.js';
import type { ResolvedOptions } from './options.js';
import type { TeleportSourceStatus } from './status.js';

/**
 * the identity at start. with refresh on, an expired identity (a host off for days, tbot starting beside us) is
 * waited out: an error here exits 2, which systemd does not restart once tbot has renewed the file
 */
export function identityAtStart(
  o: Pick<ResolvedOptions, 'identity' | 'refreshEnabled'>,
  now: number,
): { identity: TlsIdentity; waiting: boolean } {
  try {
    return { identity: loadIdentity(o.identity, now), waiting: false };
  } catch (err) {
    if (!(o.refreshEnabled && err instanceof IdentityExpiredError)) throw err;
    return { identity: err.identity, waiting: true };
  }
}

export interface RefreshDeps {
  logger: Logger;
  now: () => number;
  signal: AbortSignal;
  /** where the identity in use, its refreshes and the wait for a renewed file are shown */
  status: TeleportSourceStatus;
}

export class IdentityRefresh {
  /** the identity in use */
  current: TlsIdentity | undefined;
  private client: AuditLogClient | undefined;
  private source: IdentitySource | undefined;
  private lastFingerprint: string | undefined;
  /** the fingerprint of the expired identity in use that was already logged as such */
  private expirySaid: string | undefined;
  /** wakes untilRenewed when refresh applied a new identity */
  private renewed: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** the identity in use, explained as expired (set by begin) */
  private expiredText: () => ExplainedError = () => {
    throw new Error('teleport source not started');
  };

  constructor(private readonly d: RefreshDeps) {}

  /** the identity in use from now on, shown in status */
  show(id: TlsIdentity): void {
    this.current = id;
    this.d.status.identity = { file: id.file, user: id.user, notAfter: id.notAfter.toISOString() };
  }

  /** the client that gets renewed identities, and how the identity in use is explained once expired */
  use(client: AuditLogClient, expiredText: () => ExplainedError): void {
    this.client = client;
    this.expiredText = expiredText;
  }

  /** from now on, refresh reads `source`; every intervalMs when given */
  begin(source: IdentitySource, intervalMs: number | undefined): void {
    this.lastFingerprint = this.current?.fingerprint;
    this.source = source;
    if (intervalMs !== undefined) {
      this.timer = setInterval(() => this.refresh(), intervalMs);
      this.timer.unref?.();
    }
  }

  /** the identity in use at start has expired: said once, here, not again by refresh */
  sayExpiredAtStart(): void {
    const identity = this.current!;
    const x = this.expiredText();
    this.expirySaid = identity.fingerprint;
    this.d.logger.error(
      { file: identity.file, expiredAt: identity.notAfter.toISOString(), hint: x.hint },
      `${x.summary}: the poller waits for the file to be renewed (tbot) and reads nothing from teleport until then`,
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * waits, without calling the auth service, until the identity in use is valid again (refresh read a renewed
   * file); false when stopped. status shows the poller failing with the expiry meanwhile. exit-on-last-event
   * counts each refresh interval as a failed cycle and gives up like on any other permanent problem
   */
  async untilRenewed(o: Readonly<ResolvedOptions>): Promise<boolean> {
    const { now, signal, status: st } = this.d;
    const permanent = new PermanentFailures(o.exitOnLastEvent, o.retryMaxMs, now);
    while (!signal.aborted && this.current !== undefined && now() >= this.current.notAfter.getTime()) {
      const x = this.expiredText();
      st.lastError = explainedText(x);
      st.failingSince ??= now();
      st.caughtUp = false;
      permanent.failed(x);
      await Promise.race([new Promise<void>((r) => (this.renewed = r)), sleep(o.refreshIntervalMs, signal)]);
      this.renewed = undefined;
    }
    return !signal.aborted;
  }

  /** re-reads the identity (after begin); keeps the current one if the file is unusable */
  refresh(): void {
    const { logger, now } = this.d;
    const source = this.source;
    if (!source) return;
    let id: TlsIdentity;
    try {
      id = loadIdentity(source, now());
    } catch (err) {
      if (err instanceof IdentityExpiredError && err.identity.fingerprint === this.lastFingerprint) {
        // the file in use, read again past its expiry: said once. an open connection outlives the certificate
        // (it is checked at the handshake), so calls fail only once the auth service is dialled again
        if (this.expirySaid !== this.lastFingerprint) {
          this.expirySaid = this.lastFingerprint;
          const x = this.expiredText();
          logger.error(
            { file: err.identity.file, expiredAt: err.identity.notAfter.toISOString(), hint: x.hint },
            `${x.summary} and was not renewed: calls fail once the auth service is dialled again; waiting for the file to be renewed (tbot)`,
          );
        }
        return;
      }
      // a half-written file or an expired replacement: keep the identity we have and say why
      logger.warn({ err: (err as Error).message }, 'teleport identity refresh failed; keeping the current identity');
      return;
    }
    if (id.fingerprint === this.lastFingerprint) return;
    try {
      this.client?.setIdentity(id);
    } catch (err) {
      // e.g. proxy mode without a cluster name and a rotated identity that does not tell it. not recorded as
      // applied: each refresh reports it again until the file is replaced (the current identity will expire)
      logger.error(
        { file: id.file, err: (err as Error).message },
        'teleport identity refresh failed: the new identity cannot be used; keeping the current identity',
      );
      return;
    }
    this.lastFingerprint = id.fingerprint;
    this.show(id);
    this.d.status.identityRefreshedAt = now();
    logger.info({ file: id.file, expires: id.notAfter.toISOString() }, 'teleport identity reloaded');
    this.renewed?.();
  }
}
