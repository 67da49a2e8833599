// the one schema of every setting: its key in the TOML file, its flag, its env vars, its type, its default and its
// doc. the loader, the CLI flags and docs/configuration.md are all derived from this table, so they cannot drift.
//
// keys are dotted paths into the TOML file ("ingest.port" is `port` under `[ingest]`). the flag is the key with
// dots turned into dashes (`--ingest-port`), the env var is TDF_ + the flag in upper snake case
// (`TDF_INGEST_PORT`). keys that teleport-event-handler also has keep its names, flags and env vars, so its
// teleport-event-handler.toml and its FDFWD_* (and misspelled FDWRD_*) variables work unchanged. the env names
// listed per key are exactly the handler's (it has none for dry-run, exit-on-last-event, concurrency, window-size).
//
// the rows live per section in schema/; the Config type and each section's defaults follow from them (sections.ts).
import { GENERAL_SETTINGS } from './schema/general.js';
import { INGEST_SETTINGS } from './schema/ingest.js';
import { DATADOG_SETTINGS } from './schema/datadog.js';
import { SERVICE_SETTINGS } from './schema/service.js';
import { TELEPORT_SETTINGS } from './schema/teleport.js';
import { FORWARD_SETTINGS } from './schema/forward.js';
import type { Setting } from './schema/setting.js';

export type { Setting, ValueType } from './schema/setting.js';
export { MATCH_SETTINGS, FILTER_SETTINGS, DEFAULT_MATCH, matchDefault } from './schema/tables.js';
export type { MatchSetting, FilterSetting } from './schema/tables.js';

const ROWS = [
  ...GENERAL_SETTINGS,
  ...INGEST_SETTINGS,
  ...DATADOG_SETTINGS,
  ...SERVICE_SETTINGS,
  ...TELEPORT_SETTINGS,
  ...FORWARD_SETTINGS,
] as const satisfies readonly Setting[];

/** one row as written, literal types kept: the Config type is derived from these (sections.ts) */
export type SettingRow = (typeof ROWS)[number];

export const SETTINGS: readonly Setting[] = ROWS;

/**
 * top-level keys that older teleport-event-handler files may hold but the handler no longer reads (they are not in
 * its current config), with why they do nothing here: the loader ignores them with a warning instead of refusing
 * the file, and migrate leaves them out with a note
 */
export const OBSOLETE_KEYS: Readonly<Record<string, string>> = {
  namespace: 'Teleport has one audit event namespace, "default", and the poller always reads it',
  cursor:
    'the poller keeps its own cursors in storage and does not take one from the config; use start-time to choose where it starts',
};

/** why an obsolete key is ignored, or undefined when the key is not one (own keys only: not "constructor") */
export function obsoleteKey(key: string): string | undefined {
  return Object.hasOwn(OBSOLETE_KEYS, key) ? OBSOLETE_KEYS[key] : undefined;
}

export function envName(key: string): string {
  return 'TDF_' + key.replace(/[.-]/g, '_').toUpperCase();
}

export function flagName(key: string): string {
  return key.replace(/\./g, '-');
}
