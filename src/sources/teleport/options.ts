// the poller's options: the type a caller passes, the defaults, and the check that resolves them once at start.
import { ConfigError } from '../../errors.js';
import { TELEPORT_API_DOMAIN } from './credentials.js';
import type { IdentitySource } from './identity.js';

export interface LockConfig {
  enabled: boolean;
  failedAttemptsCount: number;
  periodMs: number;
  /** 0 = forever */
  forMs: number;
}

export interface TeleportSourceOptions {
  /** host:port of the auth service (usually :3025) or the proxy (:443, tls routing) */
  addr: string;
  /**
   * whether a first export far back may follow a teleport-event-handler's (default true): its warning then says
   * how not to ship the handler's events twice. false where no handler ever ran (the demo's fake cluster)
   */
  handlerMayHaveRun?: boolean;
  identityFile?: string;
  /** all three or none; exclusive with identityFile */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  refreshEnabled?: boolean;
  refreshIntervalMs?: number;
  /** deadline of unary calls */
  timeoutMs?: number;
  /** legacy page size */
  batch?: number;
  windowSizeMs?: number;
  /** event types to export; empty = all */
  types?: string[];
  skipEventTypes?: string[];
  skipSessionTypes?: string[];
  startTime?: Date;
  concurrency?: number;
  exitOnLastEvent?: boolean;
  /** tag of audit events (the go handler's url path) */
  eventsTag?: string;
  /** session records are tagged `<prefix>.<sid>.log` */
  sessionTagPrefix?: string;
  pollIntervalMs?: number;
  /** an export or recording stream silent this long is cancelled and retried */
  streamIdleMs?: number;
  lock?: Partial<LockConfig>;
  serverName?: string;
  mode?: 'auto' | 'direct' | 'proxy';
  /** cluster name for proxy routing; default: the identity's CA name */
  clusterName?: string;
  /** gRPC metadata `version` sent on every call */
  apiVersion?: string;
  retryBaseMs?: number;
  retryMaxMs?: number;
  sessionRetryBaseMs?: number;
  sessionRetryMaxMs?: number;
  sessionGiveUpMs?: number;
}

export const DEFAULTS = {
  refreshEnabled: false,
  refreshIntervalMs: 60_000, // 1 min
  timeoutMs: 5_000, // 5 s, like the go handler
  batch: 20,
  windowSizeMs: 24 * 3600_000, // 24 h
  types: [] as string[],
  skipEventTypes: [] as string[],
  skipSessionTypes: ['print'],
  concurrency: 5,
  exitOnLastEvent: false,
  eventsTag: 'events.log',
  sessionTagPrefix: 'session',
  pollIntervalMs: 16_000, // 16 s
  streamIdleMs: 300_000, // 5 min
  lock: { enabled: false, failedAttemptsCount: 3, periodMs: 60_000, forMs: 0 } as LockConfig,
  serverName: TELEPORT_API_DOMAIN,
  mode: 'auto' as 'auto' | 'direct' | 'proxy',
  apiVersion: '17.0.0',
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  sessionRetryBaseMs: 3_000,
  sessionRetryMaxMs: 300_000, // 5 min
  // how long a recording may stay not found, from its first NOT_FOUND, before it is given up
  sessionGiveUpMs: 48 * 3600_000, // 48 h
};

export type ResolvedOptions = Required<
  Omit<TeleportSourceOptions, 'identityFile' | 'certFile' | 'keyFile' | 'caFile' | 'startTime' | 'clusterName' | 'lock'>
> & {
  identity: IdentitySource;
  startTime: Date | undefined;
  clusterName: string | undefined;
  lock: LockConfig;
};

function positive(name: string, v: number, integer = false): void {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`teleport option ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  }
}

/** defaults applied and values checked once; the result is frozen */
export function resolveOptions(o: TeleportSourceOptions): Readonly<ResolvedOptions> {
  if (!o.addr || !/^[^\s]+:\d+$/.test(o.addr))
    throw new ConfigError(`teleport addr must be host:port, got "${o.addr ?? ''}"`);
  const files = [o.certFile, o.keyFile, o.caFile].filter((f) => f !== undefined && f !== '');
  let identity: IdentitySource;
  if (o.identityFile) {
    if (files.length > 0)
      throw new ConfigError('teleport identity and teleport cert/key/ca are exclusive: set one or the other');
    identity = { identityFile: o.identityFile };
  } else if (files.length === 3) {
    identity = { certFile: o.certFile!, keyFile: o.keyFile!, caFile: o.caFile! };
  } else if (files.length > 0) {
    throw new ConfigError('teleport cert, key and ca must be set all three together (or use an identity file)');
  } else {
    throw new ConfigError(
      'no teleport credentials: set the identity file (tbot or tctl auth sign output), or cert, key and ca',
    );
  }
  const r: ResolvedOptions = {
    ...DEFAULTS,
    ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)),
    identity,
    startTime: o.startTime,
    clusterName: o.clusterName,
    lock: { ...DEFAULTS.lock, ...Object.fromEntries(Object.entries(o.lock ?? {}).filter(([, v]) => v !== undefined)) },
  } as ResolvedOptions;
  if (r.startTime && !Number.isFinite(r.startTime.getTime()))
    throw new ConfigError('teleport start-time is not a valid date (use RFC 3339)');
  positive('concurrency', r.concurrency, true);
  positive('batch', r.batch, true);
  positive('timeout', r.timeoutMs);
  positive('window-size', r.windowSizeMs);
  positive('poll interval', r.pollIntervalMs);
  positive('stream-idle-timeout', r.streamIdleMs);
  if (r.refreshEnabled) positive('refresh.interval', r.refreshIntervalMs);
  if (r.lock.enabled) {
    positive('lock-failed-attempts-count', r.lock.failedAttemptsCount, true);
    positive('lock-period', r.lock.periodMs);
    if (!(r.lock.forMs >= 0))
      throw new ConfigError(`teleport lock-for must be 0 (forever) or positive, got ${r.lock.forMs}`);
  }
  if (!['auto', 'direct', 'proxy'].includes(r.mode))
    throw new ConfigError(`teleport mode must be auto, direct or proxy, got "${r.mode}"`);
  return Object.freeze(r);
}
