// beyond fluentd, for security data: a field's value replaced by a fixed text, or pseudonymised with a keyed
// HMAC-SHA-256 so the same user always maps to the same token (and can still be counted and correlated) while
// the name never reaches Datadog. the key comes from a file (read by the caller) and is never logged. pure.
import { createHmac } from 'node:crypto';
import { parseAccessor, replacePath, type Accessor } from './accessor.js';
import { rubyToS } from './ruby.js';

export interface RedactSpec {
  /** record accessor paths */
  keys: string[];
  mode: 'replace' | 'hmac';
  /** replace: the text written instead (default "[REDACTED]") */
  replacement?: string;
  /** hmac: the secret (its utf-8 bytes are the key) */
  hmacKey?: string;
}

export const REDACT_DEFAULTS = Object.freeze({
  replacement: '[REDACTED]',
  /** hex digits of the digest kept: 128 bits, far from any collision among users */
  tokenHexChars: 32,
  tokenPrefix: 'hmac:',
  /** distinct values whose tokens are kept */
  cacheEntries: 10_000,
});

export interface Redact {
  apply(record: Record<string, unknown>): Record<string, unknown>;
}

export function compileRedact(spec: RedactSpec): Redact {
  const accessors: Accessor[] = spec.keys.map((k) => parseAccessor(k));
  let f: (v: unknown) => unknown;
  if (spec.mode === 'hmac') {
    const key = spec.hmacKey;
    if (!key || key.length === 0) throw new Error('redact: mode "hmac" needs a key');
    // a cluster has few users and each logs many events: tokens are cached (an hmac costs more than the rest of
    // the chain), the cache dropped whole when full so a flood of distinct values cannot grow it
    const cache = new Map<string, string>();
    f = (v) => {
      const text = rubyToS(v);
      let token = cache.get(text);
      if (token === undefined) {
        token =
          REDACT_DEFAULTS.tokenPrefix +
          createHmac('sha256', key).update(text, 'utf8').digest('hex').slice(0, REDACT_DEFAULTS.tokenHexChars);
        if (cache.size >= REDACT_DEFAULTS.cacheEntries) cache.clear();
        cache.set(text, token);
      }
      return token;
    };
  } else {
    const text = spec.replacement ?? REDACT_DEFAULTS.replacement;
    f = () => text;
  }
  return {
    apply(record) {
      let out = record;
      for (const a of accessors) out = replacePath(out, a.keys, f);
      return out;
    },
  };
}
