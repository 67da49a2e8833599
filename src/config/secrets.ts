// the api key and the ingest key's passphrase, inline or from a file; their values never appear in errors
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Origin } from './parse.js';

export type ApiKey = { apiKey?: string; apiKeyOrigin?: string; apiKeyFile?: string };

/** the inline key wins over the file, which is then not read */
export function readApiKey(
  inline: string | undefined,
  origin: Origin | undefined,
  file: string | undefined,
  fileWhere: string,
): ApiKey {
  if (inline)
    return {
      apiKey: checkApiKey(inline.trim(), origin?.where ?? 'datadog.api-key'),
      apiKeyOrigin: origin?.where.replace(/: key .*/, '') ?? 'config',
    };
  if (file)
    return {
      apiKey: checkApiKey(readSecretFile(file, fileWhere), `${fileWhere} (${file})`),
      apiKeyOrigin: file,
      apiKeyFile: file,
    };
  return {};
}

// a key with spaces, several lines or control characters cannot go in an http header: every request would fail,
// forever. say so at start (without the key)
function checkApiKey(key: string, where: string): string {
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError(
      `${where}: the Datadog API key must be one line of printable characters without spaces (it holds ${/\n/.test(key) ? 'several lines' : 'spaces or control characters'})`,
    );
  }
  return key;
}

/** reads a one-line secret file; the content never appears in errors. where: where the path came from */
export function readSecretFile(file: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${where}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`${where}: ${file} is empty`);
  return value;
}
