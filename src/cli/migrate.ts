// `migrate`: reads fluent.conf (and teleport-event-handler.toml), writes our TOML and the secrets beside it (mode
// 0600), and prints what was not carried over. never overwrites a file without --force. also the in-memory read
// that lets `start --config fluent.conf` use a fluent.conf directly.
import { existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { migrateFluentd, type MigrationNote } from '../config/fluentd/migrate.js';
import { fileIncludeReader, readText } from '../config/fluentd/file.js';
export { readFluentConf, configFromFluentConf, fileIncludeReader } from '../config/fluentd/file.js';

export interface MigrateOptions {
  fluentConf: string;
  handlerConfig?: string;
  out: string;
  force?: boolean;
  env?: NodeJS.ProcessEnv;
  /** where the report goes (default: stdout) */
  print?: (text: string) => void;
  cwd?: string;
}

export async function runMigrate(opts: MigrateOptions): Promise<number> {
  const cwd = opts.cwd ?? process.cwd();
  const print = opts.print ?? ((text: string) => void process.stdout.write(text));
  const confPath = resolve(cwd, opts.fluentConf);
  const handlerPath = opts.handlerConfig ? resolve(cwd, opts.handlerConfig) : undefined;
  const outPath = resolve(cwd, opts.out);
  const outDir = dirname(outPath);

  const result = migrateFluentd({
    fluentConf: readText(confPath, 'fluent.conf'),
    fluentConfPath: confPath,
    handlerToml: handlerPath ? readText(handlerPath, 'teleport-event-handler config') : undefined,
    handlerTomlPath: handlerPath,
    env: opts.env ?? process.env,
    readInclude: fileIncludeReader(),
    // a relative path was relative to where fluentd or the handler ran, which is unknown here
    fileExists: (path: string) => !isAbsolute(path) || existsSync(path),
  });

  const lines: string[] = [`migrating ${confPath}${handlerPath ? ` and ${handlerPath}` : ''}`];
  lines.push(...reportNotes(result.notes));
  if (!result.usable) {
    lines.push('nothing usable was found (see the warnings above): no file was written');
    print(lines.join('\n') + '\n');
    return 1;
  }

  const secrets = result.secretFiles.map((f) => ({ ...f, path: join(outDir, f.name) }));
  const targets = [...secrets.map((s) => s.path), outPath];
  for (const t of targets) {
    if (t === confPath || t === handlerPath)
      throw new ConfigError(`${t} is an input of the migration: choose another --out`);
  }
  if (!opts.force) {
    const existing = targets.filter((t) => existsSync(t));
    if (existing.length > 0) {
      throw new ConfigError(
        `${existing.join(' and ')} already ${existing.length > 1 ? 'exist' : 'exists'}: not overwritten; pass --force to replace ${existing.length > 1 ? 'them' : 'it'}, or choose another --out`,
      );
    }
  }

  mkdirSync(outDir, { recursive: true });
  const created: string[] = [];
  try {
    // secrets first: the toml never names a file that is not there
    for (const s of secrets) {
      writeOut(s.path, s.value + '\n', 0o600, opts.force === true);
      created.push(s.path);
      lines.push(`wrote ${s.path} (mode 0600): ${s.what}`);
    }
    writeOut(outPath, result.toml, 0o644, opts.force === true);
    created.push(outPath);
    lines.push(`wrote ${outPath}`);
  } catch (err) {
    for (const f of created) rmQuiet(f);
    throw err instanceof ConfigError
      ? err
      : new ConfigError(`cannot write the migrated config: ${(err as Error).message}`, { cause: err });
  }
  // the same next steps as the README's, in the same order
  lines.push(`next, check it: teleport-datadog-forwarder check --config ${outPath}`);
  lines.push(`then see what it would ship: teleport-datadog-forwarder start --config ${outPath} --dry-run`);
  print(lines.join('\n') + '\n');
  return 0;
}

function reportNotes(notes: MigrationNote[]): string[] {
  if (notes.length === 0) return ['everything was carried over'];
  const warns = notes.filter((n) => n.level === 'warn').length;
  const out = [`not carried over, or changed (${warns} warn, ${notes.length - warns} info):`];
  const width = Math.max(...notes.map((n) => n.where.length));
  for (const n of notes) out.push(`  ${n.level.padEnd(4)}  ${n.where.padEnd(width)}  ${n.message}`);
  return out;
}

/** without force: create only (fails if it appeared meanwhile). with force: a temp file renamed over the old one */
function writeOut(path: string, data: string, mode: number, force: boolean): void {
  if (!force) {
    try {
      writeFileSync(path, data, { flag: 'wx', mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new ConfigError(`${path} already exists: not overwritten; pass --force to replace it`);
      throw err;
    }
    return;
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode });
    renameSync(tmp, path);
  } catch (err) {
    rmQuiet(tmp);
    throw err;
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
