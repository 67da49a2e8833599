// the datadog client's HttpLibrary on node:http/https: keep-alive sockets bounded by the sink's concurrency,
// compression with node:zlib's async api (libuv thread pool, not the event loop; the client's own transport uses
// pako on the main thread), one deadline from connect to the end of the response, tls verification always on,
// and the response headers kept so the caller can read retry-after and rate-limit headers.
// the api key travels only in the DD-API-KEY request header: no error or log line here ever includes headers.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import {
  ResponseContext,
  SelfDecodingBody,
  type HttpLibrary,
  type RequestContext,
} from '@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js';
import { IntakeNetworkError, TlsFileError } from '../../errors.js';

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);
const SYNC_COMPRESS_MAX = 16 * 1024; // 16 KiB: ~50 µs of main thread at level 6

/** response bodies are tiny (`{}` or an error); keep at most this much of one (1 MiB) */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface TransportOptions {
  /** sockets per origin, i.e. requests in flight */
  concurrency: number;
  /** deadline for one request, from connect to the last byte of the response */
  timeoutMs: number;
  /** zlib level 1-9 for gzip and deflate bodies */
  compressionLevel?: number;
  /** PEM file of extra CA certificates to trust besides the system ones (a tls-inspecting proxy) */
  extraCaFile?: string;
  /** user-agent header when the request has none */
  userAgent?: string;
}

export interface TransportStats {
  requests: number;
  /** request body bytes before compression */
  bodyBytes: number;
  /** request body bytes on the wire */
  wireBytes: number;
}

export class NodeHttpTransport implements HttpLibrary {
  readonly #timeoutMs: number;
  readonly #level: number;
  readonly #userAgent: string;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;
  readonly #stats: TransportStats = { requests: 0, bodyBytes: 0, wireBytes: 0 };

  constructor(options: TransportOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#level = options.compressionLevel ?? 6;
    this.#userAgent = options.userAgent ?? 'teleport-datadog-forwarder';
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency };
    this.#httpAgent = new http.Agent(agentOptions);
    const ca =
      options.extraCaFile === undefined ? undefined : [...tls.rootCertificates, loadExtraCa(options.extraCaFile)];
    // rejectUnauthorized stays true: there is no option to turn verification off
    this.#httpsAgent = new https.Agent({
      ...agentOptions,
      ...(ca === undefined ? {} : { ca }),
      rejectUnauthorized: true,
    });
  }

  async send(request: RequestContext): Promise<ResponseContext> {
    const url = new URL(request.getUrl());
    const headers: Record<string, string> = { ...request.getHeaders() };
    const raw = request.getBody();
    if (raw !== undefined && typeof raw !== 'string' && !Buffer.isBuffer(raw)) {
      throw new TypeError('datadog transport: only string and Buffer request bodies are supported');
    }
    const text = raw === undefined ? undefined : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const body = text === undefined ? undefined : await this.#encode(text, headerValue(headers, 'content-encoding'));
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    if (headerValue(headers, 'user-agent') === undefined) headers['User-Agent'] = this.#userAgent;
    this.#stats.requests += 1;
    this.#stats.bodyBytes += text?.length ?? 0;
    this.#stats.wireBytes += body?.length ?? 0;
    return this.#exchange(url, request.getHttpMethod(), headers, body, request.getHttpConfig().signal);
  }

  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** close idle keep-alive sockets and refuse none: requests still running finish or fail on their own */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  async #encode(body: Buffer, encoding: string | undefined): Promise<Buffer> {
    switch (encoding?.toLowerCase()) {
      case undefined:
      case 'identity':
        return body;
      // a small body compresses in less time than a trip through the thread pool costs (bench/micro.ts gzip:
      // 20 µs sync against 82 µs async for 600 bytes); a big batch goes to the pool so the event loop keeps going
      case 'gzip':
        return body.length <= SYNC_COMPRESS_MAX
          ? zlib.gzipSync(body, { level: this.#level })
          : gzip(body, { level: this.#level });
      case 'deflate':
        return body.length <= SYNC_COMPRESS_MAX
          ? zlib.deflateSync(body, { level: this.#level })
          : deflate(body, { level: this.#level });
      default:
        throw new TypeError(
          `datadog transport: unsupported Content-Encoding "${encoding}" (use gzip, deflate or none)`,
        );
    }
  }

  #exchange(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal: { aborted: boolean; addEventListener: Function; removeEventListener: Function } | undefined,
  ): Promise<ResponseContext> {
    const where = url.origin;
    return new Promise<ResponseContext>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new IntakeNetworkError(`request to ${where} was cancelled`));
        return;
      }
      const isHttps = url.protocol === 'https:';
      const options = { method, headers, agent: isHttps ? this.#httpsAgent : this.#httpAgent };
      const req = isHttps ? https.request(url, options) : http.request(url, options);
      let settled = false;
      const finish = (error: Error | null, response?: ResponseContext): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error !== null) reject(error);
        else resolve(response!);
      };
      const timer = setTimeout(() => {
        const error = new IntakeNetworkError(`no answer from ${where} within ${this.#timeoutMs} ms`, { timeout: true });
        finish(error);
        req.destroy(error);
      }, this.#timeoutMs);
      const onAbort = (): void => {
        const error = new IntakeNetworkError(`request to ${where} was cancelled`);
        finish(error);
        req.destroy(error);
      };
      signal?.addEventListener('abort', onAbort);
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof IntakeNetworkError) return finish(error);
        const what = error.code ?? error.message;
        finish(new IntakeNetworkError(`could not reach ${where}: ${what}`, { cause: error }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= MAX_RESPONSE_BYTES) return;
          const part = chunk.subarray(0, MAX_RESPONSE_BYTES - kept);
          chunks.push(part);
          kept += part.length;
        });
        res.on('error', (error) =>
          finish(new IntakeNetworkError(`response from ${where} broke off: ${error.message}`, { cause: error })),
        );
        res.on('aborted', () => finish(new IntakeNetworkError(`response from ${where} broke off`)));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          finish(
            null,
            new ResponseContext(
              res.statusCode ?? 0,
              flattenHeaders(res.headers),
              new SelfDecodingBody(Promise.resolve(data)),
            ),
          );
        });
      });
      req.end(body);
    });
  }
}

/** read and check an extra CA file; the error names the file and what is wrong, never its content */
export function loadExtraCa(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new TlsFileError(`extra CA file ${file} cannot be read (${code}): check the path and its permissions`, {
      cause: error,
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsFileError(`extra CA file ${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  }
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new TlsFileError(`extra CA file ${file} is not a valid PEM certificate: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return pem;
}

/** node's header object (lower-case names, arrays for repeats) -> one string per name */
export function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return headers[key];
  return undefined;
}
