// what a failed call to the auth service means for the person running us: the kind of problem, whether waiting
// can fix it, and what to do. grpc-js reports every connection problem as UNAVAILABLE with the socket's error
// folded into the details. only what is certain is called permanent: a PERMISSION_DENIED, an UNAUTHENTICATED, an
// identity past its expiry, a server certificate our side refuses, a TLS alert refusing ours. a connection that
// ends during or right after the handshake without an alert is what a refused client certificate looks like from
// node, and also what a restarting auth service looks like: passing, with a hint that names both.
// pure: the same words serve the poller's logs, its status and `check`.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../../log.js';
import { TeleportAccessError } from '../../errors.js';
import { describeError, grpcCode } from './retry.js';
import { ROLE_FILE } from './role.js';

export type TeleportProblem =
  'access' | 'identity' | 'expired' | 'untrusted' | 'refused' | 'route' | 'not-tls' | 'unreachable' | 'other';

/** what the failed call was for: it decides which role rule a PERMISSION_DENIED is about */
export type TeleportCall = 'events' | 'sessions' | 'lock';

export interface ExplainContext {
  addr: string;
  serverName: string;
  identity?: { file: string; user?: string; notAfter: Date };
  now: number;
  /** with teleport.refresh.enabled, how often the identity file is read again: an expired one is then waited out */
  refreshMs?: number;
  /** how teleport.addr is dialled: through a proxy, the ALPN route names this cluster */
  route?: { mode: 'direct' | 'proxy'; cluster?: string };
}

export interface ExplainedError {
  problem: TeleportProblem;
  /** waiting does not fix it: a role, a file, a clock or an address must change */
  permanent: boolean;
  /** one sentence, for a log message */
  summary: string;
  /** what to do; absent for passing trouble with nothing to check */
  hint?: string;
  /** the error as grpc reported it, without grpc-js's boilerplate */
  err: string;
}

/** how the poller's parts turn a failed call into an explanation (source.ts binds the context) */
export type Explain = (err: unknown, call: TeleportCall) => ExplainedError;

/** an Explain without an address or identity to name (parts used on their own, in tests) */
export const plainExplain: Explain = (err, call) =>
  explainTeleportError(err, call, { addr: 'the auth service', serverName: 'teleport.cluster.local', now: Date.now() });

const RULES: Record<TeleportCall, { what: string; rule: string }> = {
  events: { what: 'the audit log', rule: '`event` list, read' },
  sessions: { what: 'session recordings', rule: '`session` list, read' },
  lock: { what: 'locks', rule: '`lock` create, update' },
};

// our side refused the server's certificate: node's verification errors, as grpc-js folds them in
const UNTRUSTED =
  /self[- ]signed certificate|unable to (get|verify)|local issuer|certificate has expired|certificate signature failure|ERR_TLS_CERT_ALTNAME|altnames|CERT_/i;
const NOT_YET_VALID = /certificate is not yet valid|CERT_NOT_YET_VALID/i;
// the server refused ours with a tls alert (a go server sends one; openssl's text: "tlsv1 alert unknown ca")
const ALERT =
  /(\w+ )?alert (bad certificate|certificate required|unknown ca|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied)/i;
// a server that routes by ALPN (a teleport proxy with tls routing) found no route for what we offered
const NO_ROUTE = /alert no application protocol/i;
// the other end answered the client hello with something that is not tls (openssl: "wrong version number" for
// plain http or ssh, "packet length too long" for some binary protocols)
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;
// the connection ended at the handshake without saying why: a refused certificate, or a server going away
const CUT_AT_HANDSHAKE = /during the TLS handshake|disconnected before secure TLS connection|failed to connect/i;
const DIALLING = /No connection established|Name resolution failed|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/;

/** grpc-js details without its "Resolution note", the "Last error: Error:" wrapper, openssl's source locations */
export function cleanDetails(err: unknown): string {
  return (
    describeError(err)
      .replace(/\.?\s*Resolution note:[\s\S]*$/, '')
      .replace(/Last error: Error( \[[A-Z_]+\])?: /, 'last error: ')
      .replace(/Last error: Failed to connect \([^)]*\)/, 'last error: failed to connect')
      // "809C...:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/...:SSL alert number 48"
      .replace(/[0-9A-F]+:error:[0-9A-F]+:SSL routines:\w+:([^:]+):\S*?:\d+:SSL alert number \d+\s*/g, '$1')
      // "80CC...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...:350:"
      .replace(/[0-9A-F]+:error:[0-9A-F]+:SSL routines:\w+:([^:]+):\S*?:\d+:(?=\s|$)/g, '$1')
      .trim()
  );
}

export function explainTeleportError(err: unknown, call: TeleportCall, c: ExplainContext): ExplainedError {
  const text = cleanDetails(err);
  const code = grpcCode(err);
  const who = c.identity?.user ? `"${c.identity.user}"` : 'the identity';
  const file = c.identity?.file ?? 'the identity file';
  const expired = c.identity !== undefined && c.now >= c.identity.notAfter.getTime();
  const mk = (problem: TeleportProblem, permanent: boolean, summary: string, hint?: string): ExplainedError => ({
    problem,
    permanent,
    summary,
    hint,
    err: text,
  });

  if (code === GrpcStatus.PERMISSION_DENIED) {
    const r = RULES[call];
    return mk(
      'access',
      true,
      `teleport denied ${who} access to ${r.what}`,
      `its role needs ${r.rule} (the role in ${ROLE_FILE}, which \`teleport-datadog-forwarder configure\` writes, has them); a locked user is refused the same way`,
    );
  }
  // an expired certificate fails in every way there is (a tls alert, a closed connection, UNAUTHENTICATED)
  if (expired && (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.UNAUTHENTICATED)) {
    return { ...expiredIdentity({ ...c, identity: c.identity! }), err: text };
  }
  if (code === GrpcStatus.UNAUTHENTICATED) {
    return mk(
      'identity',
      true,
      `${c.addr} does not accept the identity in ${file}`,
      'sign a new identity file for this cluster',
    );
  }
  const connection = code === GrpcStatus.UNAVAILABLE;
  if (connection || code === undefined) {
    if (NOT_YET_VALID.test(text)) {
      return mk(
        'untrusted',
        true,
        `the certificate of ${c.addr} is not valid yet`,
        'check the clocks of this host and of the auth service',
      );
    }
    if (UNTRUSTED.test(text)) {
      return mk(
        'untrusted',
        true,
        `this host does not trust the certificate of ${c.addr}`,
        `the identity's CA must be this cluster's (sign the identity on it), teleport.addr must be its Auth Service (:3025) or proxy (:443), and the certificate must name ${c.serverName}`,
      );
    }
    if (NO_ROUTE.test(text)) {
      return c.route?.mode === 'proxy'
        ? mk(
            'route',
            true,
            `${c.addr} has no route to the auth service of cluster ${c.route.cluster ?? '(unknown)'}`,
            "check teleport.cluster-name (unset, the identity's cluster is used) and that teleport.addr is that cluster's proxy",
          )
        : mk(
            'route',
            true,
            `${c.addr} routes connections by ALPN, like a Teleport Proxy with TLS routing, and this one was dialled as the auth service`,
            'set teleport.mode = "proxy" (auto chooses proxy only on ports 443 and 3080), or point teleport.addr at the auth service (:3025)',
          );
    }
    if (NOT_TLS.test(text)) {
      return mk(
        'not-tls',
        true,
        `this port does not speak TLS: ${c.addr} answered the TLS handshake with something else`,
        'check teleport.addr: it must be the Auth Service (:3025) or the Proxy (:443, or :3080), which speak TLS, not a plain HTTP port, an SSH port (:3022, :3023) or a load balancer that takes TLS off',
      );
    }
    const alert = ALERT.exec(text);
    if (alert) {
      return mk(
        'refused',
        true,
        `${c.addr} refused the client certificate in ${file} (${alert[0]})`,
        'sign the identity on this cluster (tctl auth sign or tbot), and check that teleport.addr is its Auth Service (:3025) or proxy (:443)',
      );
    }
    if (!connection) return mk('other', false, 'teleport call failed');
    if (CUT_AT_HANDSHAKE.test(text)) {
      return mk(
        'unreachable',
        false,
        `${c.addr} ended the connection at the TLS handshake`,
        `an auth service restarting does this, and so does one that does not accept the client certificate in ${file} (signed on another cluster, or revoked): if it lasts, sign the identity on this cluster`,
      );
    }
    return mk(
      'unreachable',
      false,
      'teleport auth service unreachable',
      DIALLING.test(text) ? `check teleport.addr (${c.addr}) and that this host may reach it` : undefined,
    );
  }
  if (code === GrpcStatus.DEADLINE_EXCEEDED)
    return mk('unreachable', false, 'teleport auth service did not answer in time');
  return mk('other', false, `teleport answered ${(GrpcStatus as unknown as Record<number, string>)[code] ?? code}`);
}

/**
 * an identity past its expiry, before or without a call: named with its file and expiry. with refresh on, the
 * poller waits for the file to be renewed (it makes no call with it); without, only a new file and a restart help
 */
export function expiredIdentity(
  c: ExplainContext & { identity: NonNullable<ExplainContext['identity']> },
): ExplainedError {
  const hint =
    c.refreshMs !== undefined
      ? `waiting for the file to be renewed (tbot rewrites it; it is read again every ${Math.max(1, Math.round(c.refreshMs / 1000))} s), or sign it again: tctl auth sign`
      : 'renew it: sign it again (tctl auth sign), or let tbot renew it and turn teleport.refresh.enabled on so it is read again';
  return {
    problem: 'expired',
    permanent: true,
    summary: `the identity in ${c.identity.file} expired at ${c.identity.notAfter.toISOString()}`,
    hint,
    err: `now ${new Date(c.now).toISOString()}`,
  };
}

/** the error for status and lastError: what happened, and what to do when there is something */
export function explainedText(x: ExplainedError): string {
  return x.hint && (x.permanent || x.problem === 'unreachable') ? `${x.summary} (${x.err}): ${x.hint}` : x.err;
}

/** how often the same permanent problem is logged as an error with its hint; the rest of its lines are warnings */
export const PROBLEM_LOG_INTERVAL_MS = 5 * 60_000;

/**
 * logs failed calls without flooding: a permanent problem is an error that says what to do when it is new (or
 * every PROBLEM_LOG_INTERVAL_MS); each failed item (a chunk, a recording) is a warning with `message`
 */
export class FailureLog {
  private last: { key: string; at: number } | undefined;
  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  failed(x: ExplainedError, fields: Record<string, unknown>, message: string): void {
    if (x.permanent) {
      const key = `${x.problem}\n${x.summary}`;
      const t = this.now();
      if (this.last?.key !== key || t - this.last.at >= PROBLEM_LOG_INTERVAL_MS) {
        this.last = { key, at: t };
        this.logger.error({ ...fields, err: x.err, hint: x.hint }, `${x.summary}; retrying`);
        return;
      }
    }
    this.logger.warn(
      x.hint && !x.permanent ? { ...fields, err: x.err, hint: x.hint } : { ...fields, err: x.err },
      message,
    );
  }

  /** a call succeeded: the next permanent problem is news again */
  succeeded(): void {
    this.last = undefined;
  }
}

/** retry cycles in a row that exit-on-last-event takes as final when each failed permanently */
export const PERMANENT_GIVE_UP = 3;

/**
 * counts retry cycles (a probe, a round over the polled dates, a search page) that failed permanently, in a row.
 * with exit-on-last-event, a run gives up once there were PERMANENT_GIVE_UP of them over at least `spanMs` (the
 * longest backoff): a batch job must fail, not retry a refused role forever, but not on a burst of failures
 * from one moment. a long-running poller keeps retrying: a fixed role or a renewed identity works without a
 * restart.
 */
export class PermanentFailures {
  private row = 0;
  private since = 0;
  constructor(
    private readonly exitOnLastEvent: boolean,
    private readonly spanMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** one failed cycle, with the last problem it met */
  failed(x: ExplainedError): void {
    if (!x.permanent) {
      this.row = 0;
      return;
    }
    if (this.row === 0) this.since = this.now();
    this.row += 1;
    if (this.exitOnLastEvent && this.row >= PERMANENT_GIVE_UP && this.now() - this.since >= this.spanMs) {
      throw new TeleportAccessError(`${x.summary} (${x.err}), ${this.row} times in a row: ${x.hint ?? 'see the logs'}`);
    }
  }

  succeeded(): void {
    this.row = 0;
  }
}
