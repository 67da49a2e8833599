// fluent.conf migrations in tests: a fluent.conf built from lines, migrated, written with its secret files into a
// fresh directory and loaded as `start` would; and a check for one note.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/load.js';
import {
  migrateFluentd,
  type MigrateInput,
  type MigrateResult,
  type MigrationNote,
} from '../../src/config/fluentd/migrate.js';

export const API_KEY = '0123456789abcdef0123456789abcdef';
const tmpRoot = mkdtempSync(join(tmpdir(), 'tdf-migrate-'));
after(() => rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;

/** a fresh directory under the migration tests' temporary root */
export function caseDir(prefix: string): string {
  return mkdtempSync(join(tmpRoot, prefix));
}

/** migrates, writes the toml and its secret files into a fresh directory, and loads it as `start` would */
export function migrateAndLoad(
  input: Omit<MigrateInput, 'fluentConfPath'> & { fluentConfPath?: string },
  env: NodeJS.ProcessEnv = {},
): { r: MigrateResult; c: Readonly<Config>; dir: string; file: string } {
  const r = migrateFluentd({ fluentConfPath: '/etc/fluent/fluent.conf', ...input });
  const dir = mkdtempSync(join(tmpRoot, `case${n++}-`));
  for (const s of r.secretFiles) writeFileSync(join(dir, s.name), s.value + '\n', { mode: 0o600 });
  const file = join(dir, 'forwarder.toml');
  writeFileSync(file, r.toml);
  return { r, c: loadConfig({ file, env }), dir, file };
}

export const conf = (...lines: string[]) => lines.join('\n') + '\n';

export const TLS_SOURCE = conf(
  '<source>',
  '  @type http',
  '  port 8888',
  '  <transport tls>',
  '    client_cert_auth true',
  '    ca_path /keys/ca.crt',
  '    cert_path /keys/server.crt',
  '    private_key_path /keys/server.key',
  '  </transport>',
  '</source>',
);

/** a fluent.conf with the tls source and these lines after it (the source takes lines 1-10) */
export const withSource = (...lines: string[]) => TLS_SOURCE + conf(...lines);

/** asserts a note at `where` whose message matches re */
export function hasNote(notes: MigrationNote[], level: MigrationNote['level'], where: string, re: RegExp): void {
  const found = notes.find((x) => x.level === level && x.where === where && re.test(x.message));
  assert.ok(
    found,
    `no ${level} note at ${where} matching ${re}; notes:\n${notes.map((x) => `  ${x.level} ${x.where} ${x.message}`).join('\n')}`,
  );
}
