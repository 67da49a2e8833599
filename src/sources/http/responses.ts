// in_http responses: what a failure means for the client. fluentd's error body is `<code> <text>\n<reason>\n`;
// success is a 200 with an empty text/plain body (teleport-event-handler counts only 200 as delivered).
import { STATUS_CODES } from 'node:http';
import { DecodeError, DryRunNotKeptError, SpoolClosedError, SpoolFullError } from '../../errors.js';
import { payloadRequired } from './decode.js';

export interface Failure {
  status: number;
  reason: string;
  /** seconds for Retry-After, when the client should come back later */
  retryAfter?: number;
  /** an error of ours the client cannot act on: log it */
  internal?: boolean;
}

/** `400 Bad Request\n<reason>\n` */
export function errorBody(status: number, reason: string): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}\n${reason}\n`;
}

/** maps anything thrown while handling a request to the status and reason the client sees */
export function classify(err: unknown, opts: { bodyLimit: number; retryAfterSeconds: number }): Failure {
  if (err instanceof DecodeError) return { status: err.status, reason: err.message };
  if (err instanceof SpoolFullError) return { status: 503, reason: err.message, retryAfter: opts.retryAfterSeconds };
  if (err instanceof SpoolClosedError) return { status: 503, reason: err.message };
  if (err instanceof DryRunNotKeptError)
    return { status: 503, reason: err.message, retryAfter: opts.retryAfterSeconds };
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, reason: `request body is larger than ${opts.bodyLimit} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      // an unparsable Content-Type is just another content type in_http does not know
      return { status: 400, reason: payloadRequired(null) };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, reason: 'request body size did not match Content-Length' };
  }
  // other fastify client errors (4xx) keep their status; their messages are fixed strings without user data
  if (
    typeof e.code === 'string' &&
    e.code.startsWith('FST_') &&
    typeof e.statusCode === 'number' &&
    e.statusCode >= 400 &&
    e.statusCode < 500
  ) {
    return { status: e.statusCode, reason: String(e.message) };
  }
  return { status: 500, reason: 'internal error while accepting the request; see the forwarder log', internal: true };
}

/** status and reason for an error node's http parser raised before fastify saw a request */
export function classifyClientError(err: { code?: string }): { status: number; reason: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'request not received in time' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, reason: 'invalid Content-Length' };
    default:
      return { status: 400, reason: 'malformed HTTP request' };
  }
}
