// one intake request per batch, built by the datadog client's LogsApiRequestFactory (url from the site's server
// variables or an explicit base, DD-API-KEY from authMethods, Content-Type, Content-Encoding, the ddtags query).
// the body is ours: the spool already holds each log as json text, so the array is those texts joined as they are.
// the client's serializer is not used for the body because it sends `Array<HTTPLogItem>`: it drops every top-level
// key but ddsource/ddtags/hostname/message/service (the rest must sit in `additionalProperties`), it throws for a log
// without a string `message` (teleport audit events have none) and one bad log would fail the whole batch.
import {
  createConfiguration,
  ServerConfiguration,
  type HttpLibrary,
  type RequestContext,
} from '@datadog/datadog-api-client/dist/packages/datadog-api-client-common/index.js';
import { LogsApiRequestFactory } from '@datadog/datadog-api-client/dist/packages/datadog-api-client-v2/apis/LogsApi.js';
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
}

export function createRequestBuilder(options: RequestBuilderOptions): RequestBuilder {
  const { endpoint } = options;
  const configuration = createConfiguration({
    authMethods: { apiKeyAuth: options.apiKey },
    httpApi: options.httpApi,
    ...(endpoint.site === null ? { baseServer: new ServerConfiguration<{}>(endpoint.intakeBaseUrl, {}) } : {}),
  });
  // the client also reads DD_SITE from the environment; our validated setting wins
  if (endpoint.site !== null) configuration.setServerVariables({ site: endpoint.site });
  const factory = new LogsApiRequestFactory(configuration);
  const encoding = options.compression === 'none' ? undefined : options.compression;
  return {
    async build(values, signal) {
      const request = await factory.submitLog([], encoding, options.ddtags);
      request.setBody(batchBody(values));
      if (signal !== undefined) request.setHttpConfig({ ...request.getHttpConfig(), signal: signal as never });
      return request;
    },
  };
}

/** json texts -> one json array text; its length is the sum of theirs plus arrayOverhead(values.length) */
export function batchBody(values: readonly string[]): string {
  return `[${values.join(',')}]`;
}
