// one row of the schema: a setting's key in the TOML file, its flag, its env vars, its type, its default and its
// doc. the loader, the Config type, the CLI flags and docs/configuration.md are all derived from these rows.
//
// keys are dotted paths into the TOML file ("ingest.port" is `port` under `[ingest]`). the flag is the key with
// dots turned into dashes (`--ingest-port`), the env var is TDF_ + the flag in upper snake case
// (`TDF_INGEST_PORT`). keys that teleport-event-handler also has keep its names, flags and env vars, so its
// teleport-event-handler.toml and its FDFWD_* (and misspelled FDWRD_*) variables work unchanged. the env names
// listed per key are exactly the handler's (it has none for dry-run, exit-on-last-event, concurrency, window-size).

export type ValueType = 'string' | 'path' | 'int' | 'bool' | 'duration' | 'bytes' | 'list' | 'enum' | 'time';

export interface Setting {
  key: string;
  type: ValueType;
  default?: unknown;
  doc: string;
  /** allowed values for enum */
  values?: readonly string[];
  min?: number;
  max?: number;
  /** extra env vars, in order of precedence (first set wins), after TDF_* */
  env?: readonly string[];
  /** extra flag names (teleport-event-handler's spelling); never the key's own flag name (yargs would list it twice) */
  aliases?: readonly string[];
  /** extra TOML keys that mean the same (teleport-event-handler's spelling) */
  tomlAliases?: readonly string[];
  /** a secret: never echoed in errors or logs */
  secret?: boolean;
  /** one-letter flag */
  short?: string;
  /** the config section of a key that has none of its own (teleport-event-handler's top-level names, like batch) */
  section?: 'teleport';
}

export const MiB = 1024 * 1024;
