// reading a fluent.conf from disk (with its @include files) into our config, in memory: used by `migrate` and by
// `start --config fluent.conf`, which runs a fluentd setup for teleport as it is.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { IncludeReader } from './tree.js';
import { migrateFluentd, type MigrateResult } from './migrate.js';

/** fluent.conf as our TOML plus its notes and secrets, without writing anything (`start --config fluent.conf`) */
export function readFluentConf(path: string, env: Record<string, string | undefined> = process.env): MigrateResult {
  const abs = resolve(path);
  return migrateFluentd({
    fluentConf: readText(abs, 'fluent.conf'),
    fluentConfPath: abs,
    env,
    readInclude: fileIncludeReader(),
    secretFiles: false,
    fileExists: existsSync,
  });
}

/** fluent.conf as our TOML text (no secrets in it: see readFluentConf for the api key and passphrase) */
export function configFromFluentConf(path: string, env: Record<string, string | undefined> = process.env): string {
  return readFluentConf(path, env).toml;
}

/**
 * `@include` from the local disk: a path or glob (`conf.d/*.conf`) relative to the including file; matches are
 * read in sorted order, as fluentd does. urls are not fetched (null: the parser notes it).
 */
export function fileIncludeReader(): IncludeReader {
  return (spec, fromFile) => {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return null;
    const target = resolve(dirname(resolve(fromFile)), spec);
    const paths = /[*?[]/.test(target) ? glob(target) : [target];
    return paths.map((file) => {
      try {
        return { file, text: readFileSync(file, 'utf8') };
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new Error(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
      }
    });
  };
}

/** `*`, `?` and `[…]` in any part of an absolute path; hidden files only when the part starts with '.' */
function glob(pattern: string): string[] {
  const parts = pattern.split(sep).filter((p, i) => p !== '' || i === 0);
  let found = [parts[0] === '' ? sep : parts[0]!];
  for (const part of parts.slice(1)) {
    if (!/[*?[]/.test(part)) {
      found = found.map((d) => join(d, part)).filter((p) => existsSync(p));
      continue;
    }
    const re = globPart(part);
    const next: string[] = [];
    for (const dir of found) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) if (re.test(n) && (part.startsWith('.') || !n.startsWith('.'))) next.push(join(dir, n));
    }
    found = next;
  }
  return found.filter((p) => statSync(p).isFile()).sort();
}

function globPart(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          part
            .slice(i + 1, end)
            .replace(/^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`cannot read the ${what} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, {
      cause: err,
    });
  }
}
