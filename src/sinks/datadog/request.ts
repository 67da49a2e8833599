// one intake request per batch. its url, headers and auth come from the datadog client's LogsApiRequestFactory
// (v2 submitLog: the site's server variables or an explicit base, DD-API-KEY from authMethods, Content-Type,
// Content-Encoding, the ddtags query), the same for every batch, so the factory runs once per sink, in a worker
// thread that exits after: importing LogsApi loads the client's ObjectSerializer and with it all 6,211 v2 model
// classes, ~100 MiB of rss and ~50 MiB of live heap this process would otherwise carry (and mark at every full gc)
// for a url and five headers. each batch's request is a RequestContext of the client's http module with them.
// the body is ours: the spool already holds each log as json text, so the array is those texts joined as they are.
// the client's serializer is not used for the body because it sends `Array<HTTPLogItem>`: it drops every top-level
// key but ddsource/ddtags/hostname/message/service (the rest must sit in `additionalProperties`), it throws for a log
// without a string `message` (teleport audit events have none) and one bad log would fail the whole batch.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  HttpMethod,
  RequestContext,
  type HttpLibrary,
} from '@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js';
import type { IntakeEndpoint } from './site.js';

export type Compression = 'gzip' | 'deflate' | 'none';

export interface RequestBuilderOptions {
  apiKey: string;
  endpoint: IntakeEndpoint;
  compression: Compression;
  ddtags?: string | undefined;
  /** the transport the configuration names; requests are sent by the caller, not through the client */
  httpApi: HttpLibrary;
}

export interface RequestBuilder {
  /** a request whose body is the json array of these logs (each one json text) */
  build(values: string[], signal?: AbortSignal): Promise<RequestContext>;
  /** settles once the client's factory has run: null, or why it failed (build() tries again) */
  ready(): Promise<Error | null>;
}

/** what submitLog produces apart from the body */
export interface RequestTemplate {
  url: string;
  headers: Record<string, string>;
}

const TEMPLATE_TIMEOUT_MS = 30_000;
const require = createRequire(import.meta.url);
const CLIENT = {
  common: require.resolve('@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js'),
  logs: require.resolve('@datadog/datadog-api-client/dist/packages/datadog-api-client-v2/apis/LogsApi.js'),
};

// runs in the worker (plain commonjs: no typescript loader needed there); workerData carries the options
const TEMPLATE_WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const { createConfiguration, ServerConfiguration } = require(workerData.client.common);
const { LogsApiRequestFactory } = require(workerData.client.logs);
const o = workerData.options;
const configuration = createConfiguration({
  authMethods: { apiKeyAuth: o.apiKey },
  ...(o.site === null ? { baseServer: new ServerConfiguration(o.intakeBaseUrl, {}) } : {}),
});
// the client also reads DD_SITE from the environment; our validated setting wins
if (o.site !== null) configuration.setServerVariables({ site: o.site });
new LogsApiRequestFactory(configuration).submitLog([], o.encoding, o.ddtags).then(
  (r) => parentPort.postMessage({ url: r.getUrl(), headers: r.getHeaders() }),
  (err) => parentPort.postMessage({ error: String(err && err.message || err) }),
);
`;

/** the client's submitLog request for these options, built in a worker thread that exits after */
export function requestTemplate(options: Omit<RequestBuilderOptions, 'httpApi'>): Promise<RequestTemplate> {
  const { endpoint } = options;
  const workerOptions = {
    apiKey: options.apiKey,
    site: endpoint.site,
    intakeBaseUrl: endpoint.intakeBaseUrl,
    encoding: options.compression === 'none' ? undefined : options.compression,
    ddtags: options.ddtags,
  };
  return new Promise((resolve, reject) => {
    // loading the client takes well under a second; a worker that never answers must not hold the sink forever
    const timer = setTimeout(
      () =>
        settle(() => reject(new Error(`datadog client: no request template after ${TEMPLATE_TIMEOUT_MS / 1000} s`))),
      TEMPLATE_TIMEOUT_MS,
    );
    timer.unref();
    const worker = new Worker(TEMPLATE_WORKER, {
      eval: true,
      // commonjs whatever this process was started with (--input-type=module would make `require` undefined)
      execArgv: [],
      workerData: { client: CLIENT, options: workerOptions },
    });
    worker.unref();
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    worker.once('message', (m: RequestTemplate & { error?: string }) =>
      settle(() =>
        m.error === undefined
          ? resolve({ url: m.url, headers: m.headers })
          : reject(new Error(`datadog client: ${m.error}`)),
      ),
    );
    worker.once('error', (err) => settle(() => reject(new Error(`datadog client: ${err.message}`))));
    worker.once('exit', (code) =>
      settle(() => reject(new Error(`datadog client: request worker exited (${code}) before answering`))),
    );
  });
}

export function createRequestBuilder(options: RequestBuilderOptions): RequestBuilder {
  let template: Promise<RequestTemplate> | null = null;
  const load = (): Promise<RequestTemplate> =>
    (template ??= requestTemplate(options).catch((err: unknown) => {
      // try again at the next batch rather than fail every batch from now on
      template = null;
      throw err;
    }));
  void load().catch(() => {});
  return {
    ready: () =>
      load().then(
        () => null,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
    async build(values, signal) {
      const t = await load();
      const request = new RequestContext(t.url, HttpMethod.POST);
      for (const [name, value] of Object.entries(t.headers)) request.setHeaderParam(name, value);
      request.setBody(batchBody(values));
      if (signal !== undefined) request.setHttpConfig({ signal: signal as never });
      return request;
    },
  };
}

/** json texts -> one json array text; its length is the sum of theirs plus arrayOverhead(values.length) */
export function batchBody(values: readonly string[]): string {
  return `[${values.join(',')}]`;
}
