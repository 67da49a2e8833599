// what a failed call to the auth service means for the person running us: the kind of problem, whether waiting
// can fix it, and what to do. grpc-js reports every connection problem as UNAVAILABLE with the socket's error
// folded into the details, and a client certificate the server refuses (tls 1.3: after our side of the
// handshake is done) only as "Failed to connect": the connector records that refusal (credentials.ts) and it is
// read back here. pure: the same text serves the poller's logs, its status and `check`.
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { TeleportAccessError } from '../../errors.js';
import { describeError, grpcCode } from './retry.js';
import { ROLE_FILE } from '../../setup/role.js';

export type TeleportProblem = 'access' | 'identity' | 'expired' | 'untrusted' | 'refused' | 'unreachable' | 'other';

/** what the failed call was for: it decides which role rule a PERMISSION_DENIED is about */
export type TeleportCall = 'events' | 'sessions' | 'lock';

export interface Refusal {
  /** epoch ms */
  at: number;
  /** the TLS alert or "closed", as the socket saw it */
  reason: string;
}

export interface ExplainContext {
  addr: string;
  serverName: string;
  identity?: { file: string; user?: string; notAfter: Date };
  now: number;
  /** the latest connection the auth service ended right after the handshake (client.lastRefusal()) */
  refusal?: Refusal;
}

export interface ExplainedError {
  problem: TeleportProblem;
  /** waiting does not fix it: a role, a file or an address must change */
  permanent: boolean;
  /** one sentence, for a log message */
  summary: string;
  /** what to do; absent for passing trouble */
  hint?: string;
  /** the error as grpc reported it, without grpc-js's boilerplate */
  err: string;
}

/** how the poller's parts turn a failed call into an explanation (source.ts binds the context) */
export type Explain = (err: unknown, call: TeleportCall) => ExplainedError;

/** an Explain without an address or identity to name (parts used on their own, in tests) */
export const plainExplain: Explain = (err, call) =>
  explainTeleportError(err, call, { addr: 'the auth service', serverName: 'teleport.cluster.local', now: Date.now() });

/** a refusal this recent explains a "Failed to connect" */
const REFUSAL_WINDOW_MS = 60_000;

const RULES: Record<TeleportCall, { what: string; rule: string }> = {
  events: { what: 'the audit log', rule: '`event` list, read' },
  sessions: { what: 'session recordings', rule: '`session` list, read' },
  lock: { what: 'locks', rule: '`lock` create, update' },
};

// our side refused the server's certificate: node's verification errors, as grpc-js folds them in
const UNTRUSTED = /self[- ]signed certificate|unable to (get|verify)|local issuer|certificate (has expired|is not yet valid|signature failure)|ERR_TLS_CERT_ALTNAME|altnames|CERT_/i;
// the server refused ours: tls alerts it sent (a go server sends one; node's just closes)
const ALERT = /(\w+ )?alert (bad certificate|certificate required|unknown ca|certificate expired|certificate revoked|certificate unknown|unsupported certificate|access denied|handshake failure)/i;

/** grpc-js details without its "Resolution note" and the "Last error: Error:" wrapper */
export function cleanDetails(err: unknown): string {
  return describeError(err)
    .replace(/\.?\s*Resolution note:[\s\S]*$/, '')
    .replace(/Last error: Error( \[[A-Z_]+\])?: /, 'last error: ')
    .replace(/Last error: Failed to connect \([^)]*\)/, 'last error: failed to connect')
    .trim();
}

export function explainTeleportError(err: unknown, call: TeleportCall, c: ExplainContext): ExplainedError {
  const text = cleanDetails(err);
  const code = grpcCode(err);
  const who = c.identity?.user ? `"${c.identity.user}"` : 'the identity';
  const file = c.identity?.file ?? 'the identity file';
  const refused = c.refusal !== undefined && c.now - c.refusal.at <= REFUSAL_WINDOW_MS;
  const expired = c.identity !== undefined && c.now >= c.identity.notAfter.getTime();
  const mk = (problem: TeleportProblem, permanent: boolean, summary: string, hint?: string): ExplainedError => ({ problem, permanent, summary, hint, err: text });

  if (code === GrpcStatus.PERMISSION_DENIED) {
    const r = RULES[call];
    return mk('access', true, `teleport denied ${who} access to ${r.what}`,
      `its role needs ${r.rule}: give it the role in ${ROLE_FILE} (\`teleport-datadog-forwarder configure\` writes it)`);
  }
  // an expired certificate fails in every way there is (a tls alert, a closed connection, UNAUTHENTICATED)
  if (expired && (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.UNAUTHENTICATED)) {
    return mk('expired', true, `the identity in ${file} expired at ${c.identity!.notAfter.toISOString()}`,
      'renew it: sign it again (tctl auth sign), or let tbot renew it and turn teleport.refresh.enabled on so it is read again');
  }
  if (code === GrpcStatus.UNAUTHENTICATED) {
    return mk('identity', true, `${c.addr} does not accept the identity in ${file}`, 'sign a new identity file for this cluster');
  }
  const connection = code === GrpcStatus.UNAVAILABLE;
  if (connection || code === undefined) {
    if (UNTRUSTED.test(text)) {
      return mk('untrusted', true, `this host does not trust the certificate of ${c.addr}`,
        `the identity's CA must be this cluster's (sign the identity on it), teleport.addr must be its Auth Service (:3025) or proxy (:443), and the certificate must name ${c.serverName}`);
    }
    if (ALERT.test(text) || /during the TLS handshake/.test(text) || (refused && /failed to connect/.test(text))) {
      const why = ALERT.exec(text)?.[0] ?? (refused ? c.refusal!.reason : 'closed during the handshake');
      return mk('refused', true, `${c.addr} refused the TLS connection (${why}): it does not accept the client certificate in ${file}`,
        'sign the identity on this cluster (tctl auth sign or tbot), and check that teleport.addr is its Auth Service (:3025) or proxy (:443)');
    }
    if (!connection) return mk('other', false, 'teleport call failed');
    const dialling = /No connection established|Name resolution failed|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(text);
    return mk('unreachable', false, 'teleport auth service unreachable', dialling ? `check teleport.addr (${c.addr}) and that this host may reach it` : undefined);
  }
  if (code === GrpcStatus.DEADLINE_EXCEEDED) return mk('unreachable', false, 'teleport auth service did not answer in time');
  return mk('other', false, `teleport answered ${(GrpcStatus as unknown as Record<number, string>)[code] ?? code}`);
}

/** the error for status and lastError: what happened, and for a permanent problem what to do */
export function explainedText(x: ExplainedError): string {
  return x.permanent && x.hint ? `${x.summary} (${x.err}): ${x.hint}` : x.err;
}

/**
 * logs a failed call: a problem waiting will not fix is an error that says what to do; passing trouble is a
 * warning with `message` (the caller's words for what is retried)
 */
export function logFailure(logger: Logger, x: ExplainedError, fields: Record<string, unknown>, message: string): void {
  if (x.permanent) logger.error({ ...fields, err: x.err, hint: x.hint }, `${x.summary}; retrying`);
  else logger.warn(x.hint ? { ...fields, err: x.err, hint: x.hint } : { ...fields, err: x.err }, message);
}

/** failures in a row that exit-on-last-event takes as final when each was permanent */
export const PERMANENT_GIVE_UP = 3;

/**
 * counts permanent failures in a row (any success resets it). with exit-on-last-event, the third ends the run:
 * a batch job must fail, not retry a refused role forever. a long-running poller keeps retrying, since a role
 * or a renewed identity fixes it without a restart.
 */
export class PermanentFailures {
  private row = 0;
  constructor(private readonly exitOnLastEvent: boolean) {}
  failed(x: ExplainedError): void {
    this.row = x.permanent ? this.row + 1 : 0;
    if (this.exitOnLastEvent && this.row >= PERMANENT_GIVE_UP) {
      throw new TeleportAccessError(`${x.summary} (${x.err}), ${this.row} times in a row: ${x.hint ?? 'see the logs'}`);
    }
  }
  succeeded(): void {
    this.row = 0;
  }
}
