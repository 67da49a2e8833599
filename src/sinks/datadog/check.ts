// asks Datadog whether the API key is valid: GET <api base>/api/v1/validate with the DD-API-KEY header answers
// 200 {"valid":true} for a good key and 403 for a bad one. any other outcome leaves the key's validity unknown.
// the key travels only in the header; no message here includes it.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { VALIDATE_PATH } from './limits.js';
import { result, type CheckResult } from '../../checks/report.js';

export type KeyVerdict =
  | { kind: 'valid' }
  | { kind: 'invalid'; status: number }
  | { kind: 'unexpected'; status: number }
  | { kind: 'unreachable'; reason: string };

const MAX_BODY = 64 * 1024; // the answer is a tiny json object

export function validateApiKey(o: {
  apiBaseUrl: string;
  apiKey: string;
  timeoutMs: number;
  extraCa?: string;
}): Promise<KeyVerdict> {
  const url = new URL(o.apiBaseUrl.replace(/\/+$/, '') + VALIDATE_PATH);
  const isHttps = url.protocol === 'https:';
  const options: https.RequestOptions = {
    method: 'GET',
    headers: { 'DD-API-KEY': o.apiKey, accept: 'application/json', 'user-agent': 'teleport-datadog-forwarder check' },
    ...(isHttps && o.extraCa ? { ca: [...tls.rootCertificates, o.extraCa] } : {}),
  };
  return new Promise<KeyVerdict>((resolve) => {
    let done = false;
    const finish = (v: KeyVerdict) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => finish({ kind: 'unreachable', reason: `the answer broke off (${err.message})` }));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) return finish({ kind: 'invalid', status });
        if (status !== 200) return finish({ kind: 'unexpected', status });
        let valid = false;
        try {
          valid = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { valid?: unknown }).valid === true;
        } catch {
          // not json: not the validate endpoint (a proxy page?)
        }
        finish(valid ? { kind: 'valid' } : { kind: 'unexpected', status });
      });
    });
    const timer = setTimeout(() => {
      finish({ kind: 'unreachable', reason: `no answer within ${Math.round(o.timeoutMs / 1000)} s` });
      req.destroy();
    }, o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'unreachable', reason: err.code ?? err.message }));
    req.end();
  });
}

/** the verdict as a check line: only a refused key fails; not reaching datadog leaves the key unknown (warn) */
export function keyResult(v: KeyVerdict, apiBaseUrl: string): CheckResult {
  const name = 'datadog.validate';
  switch (v.kind) {
    case 'valid':
      return result('pass', name, `${apiBaseUrl} accepted the API key`);
    case 'invalid':
      return result(
        'fail',
        name,
        `${apiBaseUrl} refused the API key (HTTP ${v.status}): check DD_API_KEY, and that datadog.site is the site the key belongs to`,
      );
    case 'unexpected':
      return result(
        'warn',
        name,
        `${apiBaseUrl}${VALIDATE_PATH} answered HTTP ${v.status}, not Datadog's key check: the key could not be checked (a proxy in the way, or datadog.url is not a Datadog API)`,
      );
    case 'unreachable':
      return result(
        'warn',
        name,
        `could not reach ${apiBaseUrl} (${v.reason}): the key could not be checked from here`,
      );
  }
}
