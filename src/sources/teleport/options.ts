// the poller's options: its config section as it is (sections.ts), with the few knobs that are not settings, and
// what they resolve to once at start (the credentials, the lock). defaults and bounds are the schema's.
import { ConfigError } from '../../errors.js';
import { TELEPORT_API_DOMAIN } from './credentials.js';
import type { IdentitySource } from './identity.js';
import type { Section } from '../../config/sections.js';

export interface LockConfig {
  enabled: boolean;
  failedAttemptsCount: number;
  periodMs: number;
  /** 0 = forever */
  forMs: number;
}

/** the teleport section of the config, and exit-on-last-event from its top level */
export type TeleportSourceOptions = Omit<Section<'teleport'>, 'enabled'> & {
  exitOnLastEvent: boolean;
  /**
   * whether a first export far back may follow a teleport-event-handler's (default true): its warning then says
   * how not to ship the handler's events twice. false where no handler ever ran (the demo's fake cluster)
   */
  handlerMayHaveRun?: boolean;
} & Partial<typeof INTERNAL>;

/** not settings: the api version sent, and the back-off of failed calls and recordings (tests shorten them) */
export const INTERNAL = {
  /** gRPC metadata `version` sent on every call */
  apiVersion: '17.0.0',
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  sessionRetryBaseMs: 3_000,
  sessionRetryMaxMs: 300_000, // 5 min
  // how long a recording may stay not found, from its first NOT_FOUND, before it is given up
  sessionGiveUpMs: 48 * 3600_000, // 48 h
};

export type ResolvedOptions = Omit<TeleportSourceOptions, 'identity' | 'ca' | 'cert' | 'key' | keyof typeof INTERNAL> &
  typeof INTERNAL & {
    identity: IdentitySource;
    lock: LockConfig;
  };

/** the credentials and the lock resolved once; the result is frozen */
export function resolveOptions(o: TeleportSourceOptions): Readonly<ResolvedOptions> {
  if (!o.addr || !/^[^\s]+:\d+$/.test(o.addr))
    throw new ConfigError(`teleport addr must be host:port, got "${o.addr ?? ''}"`);
  const files = [o.cert, o.key, o.ca].filter((f) => f !== undefined && f !== '');
  let identity: IdentitySource;
  if (o.identity) {
    if (files.length > 0)
      throw new ConfigError('teleport identity and teleport cert/key/ca are exclusive: set one or the other');
    identity = { identityFile: o.identity };
  } else if (files.length === 3) {
    identity = { certFile: o.cert!, keyFile: o.key!, caFile: o.ca! };
  } else if (files.length > 0) {
    throw new ConfigError('teleport cert, key and ca must be set all three together (or use an identity file)');
  } else {
    throw new ConfigError(
      'no teleport credentials: set the identity file (tbot or tctl auth sign output), or cert, key and ca',
    );
  }
  return Object.freeze({
    ...INTERNAL,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    identity,
    lock: {
      enabled: o.lockEnabled,
      failedAttemptsCount: o.lockFailedAttemptsCount,
      periodMs: o.lockPeriodMs,
      forMs: o.lockForMs,
    },
  }) as ResolvedOptions;
}
