// the checks across settings, after each value was checked on its own: which sources run and whether they have
// what they need, and notes about settings that do not do what one might think. errors name where values came from.
import { ConfigError } from '../errors.js';
import { envName } from './schema.js';
import { parseIntakeUrl, parseSite } from '../sinks/datadog/site.js';
import { TIMESTAMP_WINDOW_MS } from '../sinks/datadog/limits.js';
import type { ConfigNote, Values } from './raw.js';

export interface SourceFiles {
  ingest: { ca?: string; cert?: string; key?: string };
  teleport: { identity?: string; ca?: string; cert?: string; key?: string };
}

/**
 * whether the ingest and the poller run: as set, or inferred from their files. partial: skip what only a full
 * runtime config needs (the sources' files, at least one source)
 */
export function checkSources(
  v: Values,
  files: SourceFiles,
  filePath: string | null,
  partial: boolean | undefined,
): { ingestEnabled: boolean; teleportEnabled: boolean } {
  const ingestFiles = files.ingest;
  const ingestExplicit = v.has('ingest.enabled');
  const ingestEnabled = ingestExplicit
    ? (v.get('ingest.enabled') as boolean)
    : Boolean(ingestFiles.ca || ingestFiles.cert || ingestFiles.key);
  if (ingestEnabled && !partial) {
    const why = ingestExplicit
      ? `ingest.enabled is true (${v.whereOf('ingest.enabled')})`
      : `set: ${v.setKeys((['ca', 'cert', 'key'] as const).filter((k) => ingestFiles[k]).map((k) => 'ingest.' + k))}`;
    for (const k of ['ca', 'cert', 'key'] as const) {
      if (!ingestFiles[k]) {
        throw new ConfigError(
          `${where(filePath)}key "ingest.${k}" is required when the ingest is enabled (${why}): set it (flag --ingest-${k}, env ${envName('ingest.' + k)}) or set ingest.enabled = false`,
        );
      }
    }
  }

  const tp = files.teleport;
  const tlsSet = (['ca', 'cert', 'key'] as const).filter((k) => tp[k]).map((k) => 'teleport.' + k);
  const someTls = tlsSet.length;
  if (someTls > 0 && someTls < 3) {
    throw new ConfigError(
      `${where(filePath)}keys "teleport.ca", "teleport.cert" and "teleport.key" go together: set all three or none (set: ${v.setKeys(tlsSet)})`,
    );
  }
  if (tp.identity && someTls === 3) {
    throw new ConfigError(
      `${where(filePath)}key "teleport.identity" and "teleport.ca/cert/key" exclude each other: use one of them (set: ${v.setKeys(['teleport.identity', ...tlsSet])})`,
    );
  }
  const teleportExplicit = v.has('teleport.enabled');
  const teleportEnabled = teleportExplicit
    ? (v.get('teleport.enabled') as boolean)
    : Boolean(tp.identity || someTls === 3);
  if (teleportEnabled && !tp.identity && someTls === 0 && !partial) {
    throw new ConfigError(
      `${where(filePath)}the Teleport poller is enabled (${v.whereOf('teleport.enabled')}) but has no credentials: set "teleport.identity" (flag --teleport-identity) or teleport.ca, teleport.cert and teleport.key`,
    );
  }
  if (!ingestEnabled && !teleportEnabled && !partial) {
    throw new ConfigError(
      nothingToForward(
        filePath,
        ingestExplicit && v.whereOf('ingest.enabled'),
        teleportExplicit && v.whereOf('teleport.enabled'),
      ),
    );
  }
  return { ingestEnabled, teleportEnabled };
}

/** notes on settings that have no effect, or less than one might think */
export function settingNotes(
  v: Values,
  given: string[],
  filePath: string | null,
  teleportEnabled: boolean,
  notes: ConfigNote[],
): void {
  // a poller setting given while the poller is switched off (a flag or env var over `enabled = false`) does nothing
  if (v.has('teleport.enabled') && !teleportEnabled) {
    const ignored = given.filter((k) => k.startsWith('teleport.') && k !== 'teleport.enabled');
    if (ignored.length > 0) {
      const overridden = ignored.some((k) => !v.origin(k)!.where.startsWith(`${filePath}:`));
      notes.push({
        level: overridden ? 'warn' : 'info',
        where: v.whereOf('teleport.enabled'),
        message: `teleport.enabled is false, so the Teleport poller stays off and these are not used: ${v.setKeys(ignored)}; set teleport.enabled = true (flag --teleport-enabled, env TDF_TELEPORT_ENABLED) to poll`,
      });
    }
  }

  // reject answers an http client 400: the poller has none to answer, so its unmatched records are dropped (app.ts)
  if (v.get('routing.unmatched') === 'reject' && teleportEnabled) {
    notes.push({
      level: 'info',
      where: v.whereOf('routing.unmatched'),
      message:
        'routing.unmatched = "reject" answers the ingest\'s clients 400; the poller has no client to refuse, so its records no rule matches are dropped and counted, as with "drop"',
    });
  }

  // datadog takes log times up to 18 h old: past that, an event sent with its own time is not indexed as current.
  // a warning, not an error: datadog.url may point at an intake without that limit
  const maxAgeMs = v.get('routing.max-age') as number;
  const oldTimestamps = v.get('routing.old-timestamps') as string;
  if (maxAgeMs > TIMESTAMP_WINDOW_MS && oldTimestamps !== 'keep') {
    notes.push({
      level: 'warn',
      where: v.whereOf('routing.max-age'),
      message: `routing.max-age is ${hours(maxAgeMs)} h, over Datadog's 18 h: events between 18 h and ${hours(maxAgeMs)} h old are sent with their own time and Datadog does not index them as current (routing.old-timestamps "${oldTimestamps}" only applies past max-age); use at most 18h (the default 17h keeps a margin)`,
    });
  }
}

/** the site (or url) is checked here, not when the sink starts, so the error can say where the value came from */
export function checkIntake(v: Values): void {
  const url = v.get('datadog.url') as string | undefined;
  const key = url !== undefined && url.trim() !== '' ? 'datadog.url' : 'datadog.site';
  try {
    if (key === 'datadog.url') parseIntakeUrl(url!);
    else parseSite(v.get('datadog.site') as string);
  } catch (err) {
    if (!(err instanceof ConfigError) || !v.origin(key)) throw err;
    throw new ConfigError(`${v.whereOf(key)}: ${err.message}`, { cause: err });
  }
}

function where(filePath: string | null): string {
  return filePath ? `${filePath}: ` : '';
}

/** why neither source runs; ingestOff / teleportOff: where `enabled = false` came from, when it was set */
function nothingToForward(filePath: string | null, ingestOff: string | false, teleportOff: string | false): string {
  const setIngest = 'configure the ingest (ingest.ca, ingest.cert, ingest.key)';
  const setTeleport = 'the Teleport poller (teleport.identity, or teleport.ca, teleport.cert and teleport.key)';
  if (ingestOff && teleportOff) {
    return `nothing to forward: ingest.enabled (${ingestOff}) and teleport.enabled (${teleportOff}) are both false; set one of them to true`;
  }
  if (ingestOff)
    return `${where(filePath)}nothing to forward: ingest.enabled is false (${ingestOff}) and the Teleport poller is not configured: configure ${setTeleport}`;
  if (teleportOff)
    return `${where(filePath)}nothing to forward: teleport.enabled is false (${teleportOff}) and the ingest is not configured: ${setIngest}`;
  if (!filePath) {
    return `no config file was given (--config or TDF_CONFIG), and no flag or environment variable sets a source, so there is nothing to forward: give a config file, or ${setIngest} or ${setTeleport}, or both`;
  }
  return `${filePath}: nothing to forward: ${setIngest} or ${setTeleport}, or both`;
}

function hours(ms: number): string {
  return String(Math.round((ms / 3_600_000) * 10) / 10);
}
