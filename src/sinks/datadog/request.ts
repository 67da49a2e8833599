// one intake request per batch. its url, headers and auth come from the datadog client: its configuration (the
// site's server variables for v2 submitLog, or an explicit base), its api-key auth method (DD-API-KEY) and its
// RequestContext, with the headers and query LogsApiRequestFactory.submitLog sets (Accept, Content-Type,
// Content-Encoding, ddtags). they are the same for every batch, so they are built once per sink. only the client's
// common module is loaded: its LogsApi module would load the ObjectSerializer and with it all 6,211 v2 model
// classes, ~100 MiB of rss and ~50 MiB of live heap (a worker thread that built them left ~40 MiB of rss behind
// and raised the peak to ~215 MiB), for a url and five headers. a test checks the result against the factory.
// the body is ours: the spool already holds each log as json text, so the array is those texts joined as they are.
// the client's serializer is not used for the body because it sends `Array<HTTPLogItem>`: it drops every top-level
// key but ddsource/ddtags/hostname/message/service (the rest must sit in `additionalProperties`), it throws for a log
// without a string `message` (teleport audit events have none) and one bad log would fail the whole batch.
import {
  createConfiguration,
  HttpMethod,
  RequestContext,
  ServerConfiguration,
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
  /** settles once the template is built: null, or why it failed (build() tries again) */
  ready(): Promise<Error | null>;
}

/** what submitLog produces apart from the body */
export interface RequestTemplate {
  url: string;
  headers: Record<string, string>;
}

// the operation and path of the client's v2 submitLog
const OPERATION = 'v2.LogsApi.submitLog';
const PATH = '/api/v2/logs';

/** the client's submitLog request for these options, without a body */
export async function requestTemplate(options: Omit<RequestBuilderOptions, 'httpApi'>): Promise<RequestTemplate> {
  const { endpoint } = options;
  try {
    const configuration = createConfiguration({
      authMethods: { apiKeyAuth: options.apiKey },
      ...(endpoint.site === null ? { baseServer: new ServerConfiguration(endpoint.intakeBaseUrl, {}) } : {}),
    });
    // the client also reads DD_SITE from the environment; our validated setting wins
    if (endpoint.site !== null) configuration.setServerVariables({ site: endpoint.site });
    const request = configuration.getServer(OPERATION).makeRequestContext(PATH, HttpMethod.POST);
    request.setHeaderParam('Accept', 'application/json');
    if (configuration.isIaC) request.setHeaderParam('X-Datadog-Managed-By', 'iac');
    if (options.ddtags !== undefined) request.setQueryParam('ddtags', options.ddtags, '');
    if (options.compression !== 'none') request.setHeaderParam('Content-Encoding', options.compression);
    request.setHeaderParam('Content-Type', 'application/json');
    configuration.authMethods.apiKeyAuth?.applySecurityAuthentication(request);
    return { url: request.getUrl(), headers: request.getHeaders() };
  } catch (err) {
    throw new Error(`datadog client: ${(err as Error)?.message ?? String(err)}`);
  }
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
