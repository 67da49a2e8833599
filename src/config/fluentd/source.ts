// <source>: the one @type http becomes [ingest] (its <transport tls> in transport.ts); other sources, and the
// in_http settings the ingest does without, become notes. pure.
import type { Entry, MigrationContext } from './context.js';
import { transport } from './transport.js';
import { sectionType, type FluentSection } from './tree.js';
import { fluentBool, fluentInt, fluentSize } from './values.js';

/** fluentd in_http's default port (ours is 8888, the port teleport-event-handler's templates use) */
const FLUENTD_HTTP_PORT = 9880;

const MIN_BODY_LIMIT = 1024;

/** returns true when a complete ingest came out */
export function sources(ctx: MigrationContext, root: FluentSection): boolean {
  let http: FluentSection | undefined;
  for (const s of root.sections.filter((x) => x.name === 'source')) {
    const type = sectionType(s);
    if (type === 'http' && !http) {
      http = s;
    } else if (type === 'http') {
      ctx.warn(
        s.file,
        s.line,
        `a second <source> @type http is not carried over: the forwarder has one ingest (the one at ${ctx.where(http!.file, http!.line)})`,
      );
    } else {
      ctx.warn(
        s.file,
        s.line,
        `<source> @type ${type ?? '(none)'} is not carried over: the forwarder's sources are the Fluentd-compatible HTTPS ingest (in_http) and the built-in Teleport poller`,
      );
    }
  }
  if (!http) {
    ctx.warn(ctx.confPath, 1, 'no <source> @type http: the ingest is not configured');
    return false;
  }
  return ingest(ctx, http);
}

/** the one http source as [ingest]; returns true when its ca, cert and key are all set */
export function ingest(ctx: MigrationContext, src: FluentSection): boolean {
  const entries: Entry[] = [];
  const t = ctx.table('ingest', [
    `the Fluentd-compatible HTTPS endpoint teleport-event-handler posts to, from <source> @type http (${ctx.where(src.file, src.line)})`,
  ]);
  let port = FLUENTD_HTTP_PORT;
  let portSet = false;
  for (const p of src.params) {
    const v = (): string | undefined => ctx.value(p);
    switch (p.key) {
      case '@type':
      case 'type':
        break;
      case 'port': {
        const n = fluentInt(v() ?? '');
        if (n === undefined || n < 0 || n > 65535)
          ctx.warn(p.file, p.line, `"port" is not a port number: using fluentd's default ${FLUENTD_HTTP_PORT}`);
        else {
          port = n;
          portSet = true;
        }
        break;
      }
      case 'bind': {
        const host = v()?.trim();
        if (host) entries.push({ key: 'host', value: host });
        break;
      }
      case 'body_size_limit': {
        let n = fluentSize(v() ?? '');
        if (n === undefined) {
          ctx.warn(p.file, p.line, '"body_size_limit" is not a size: using the default (32 MiB)');
          break;
        }
        if (n < MIN_BODY_LIMIT) {
          ctx.warn(
            p.file,
            p.line,
            `"body_size_limit" is below ${MIN_BODY_LIMIT} bytes, the smallest the forwarder accepts: using ${MIN_BODY_LIMIT}`,
          );
          n = MIN_BODY_LIMIT;
        }
        entries.push({ key: 'body-limit', value: n });
        break;
      }
      case '@label':
        // routing() follows it
        break;
      case 'add_tag_prefix':
        ctx.tagPrefix = v()?.trim() || undefined;
        if (ctx.tagPrefix)
          ctx.warn(
            p.file,
            p.line,
            `"add_tag_prefix ${ctx.tagPrefix}" is not supported: tags are the url path as sent; match patterns starting with "${ctx.tagPrefix}." were rewritten without it`,
          );
        break;
      case 'add_http_headers':
      case 'add_remote_addr':
      case 'add_query_params': {
        const on = fluentBool(p.value);
        const what = {
          add_http_headers: 'HTTP_* header',
          add_remote_addr: 'REMOTE_ADDR',
          add_query_params: 'QUERY_* parameter',
        }[p.key];
        if (on === false) ctx.info(p.file, p.line, `"${p.key} false" is the default: nothing to carry over`);
        else ctx.warn(p.file, p.line, `"${p.key}" is not supported: records will not get ${what} fields`);
        break;
      }
      case 'use_204_response':
        ctx.info(
          p.file,
          p.line,
          `"use_204_response" is not carried over: the ingest answers 200 (teleport-event-handler counts only 200 as success)`,
        );
        break;
      case 'keepalive_timeout':
        ctx.info(
          p.file,
          p.line,
          '"keepalive_timeout" is not carried over: the ingest keeps connections alive with its own idle timeout',
        );
        break;
      case 'cors_allow_origins':
      case 'cors_allow_credentials':
      case 'respond_with_empty_img':
        ctx.info(
          p.file,
          p.line,
          `"${p.key}" is not carried over: the ingest serves teleport-event-handler, not browsers`,
        );
        break;
      case 'format':
        ctx.warn(
          p.file,
          p.line,
          '"format" (the old way to set a parser) is not carried over: the ingest decodes JSON, NDJSON, msgpack and forms by Content-Type',
        );
        break;
      case '@id':
      case '@log_level':
        ctx.info(p.file, p.line, `"${p.key}" is not carried over: not needed`);
        break;
      default:
        ctx.warn(p.file, p.line, `"${p.key}" is not a setting of in_http the forwarder knows: not carried over`);
    }
  }
  if (!portSet)
    ctx.info(
      src.file,
      src.line,
      `no "port": fluentd's in_http default ${FLUENTD_HTTP_PORT} is written out (the forwarder's own default is 8888)`,
    );
  entries.unshift({ key: 'port', value: port });

  let tls: FluentSection | undefined;
  for (const s of src.sections) {
    if (s.name === 'transport') {
      if (s.arg.trim() === 'tls') tls = s;
      else ctx.info(s.file, s.line, `<transport ${s.arg}> is plain tcp: the ingest always uses mutual TLS`);
    } else if (s.name === 'parse') {
      parseSection(ctx, s);
    } else if (s.name === 'buffer') {
      ctx.info(
        s.file,
        s.line,
        '<buffer> is not carried over: records are written to the durable spool (LevelDB) before the ingest answers 200; spool.max-bytes bounds it and a full spool answers 503 + Retry-After',
      );
    } else {
      ctx.warn(s.file, s.line, `<${s.name}> in <source> is not carried over`);
    }
  }

  const files: { ca?: string; cert?: string; key?: string } = {};
  if (tls) transport(ctx, tls, files, entries);
  else
    ctx.warn(
      src.file,
      src.line,
      "this in_http has no <transport tls>: the forwarder's ingest always uses mutual TLS; give it ingest.ca, ingest.cert and ingest.key (the files `teleport-event-handler configure` writes) and use https:// in the handler's fluentd url",
    );
  const missing = (['ca', 'cert', 'key'] as const).filter((k) => !files[k]);
  if (missing.length > 0) {
    if (tls)
      ctx.warn(
        tls.file,
        tls.line,
        `<transport tls> lacks ${missing.map((k) => ({ ca: 'ca_path', cert: 'cert_path', key: 'private_key_path' })[k]).join(', ')}: the ingest is written disabled; set ${missing.map((k) => 'ingest.' + k).join(', ')} and enabled = true`,
      );
    entries.unshift({ key: 'enabled', value: false });
  }
  t.entries.push(...entries);
  return missing.length === 0;
}

/** <parse>: the ingest decodes by Content-Type, so only notes come out */
export function parseSection(ctx: MigrationContext, s: FluentSection): void {
  const type = sectionType(s);
  if (type !== 'json') {
    ctx.warn(
      s.file,
      s.line,
      `<parse> @type ${type ?? '(none)'} is not carried over: the ingest decodes JSON, NDJSON, msgpack and forms by Content-Type (teleport-event-handler sends JSON)`,
    );
  }
  for (const p of s.params) {
    switch (p.key) {
      case '@type':
      case 'type':
        break;
      case 'time_type':
      case 'time_format':
        ctx.info(
          p.file,
          p.line,
          `"${p.key}" is not needed: the ingest reads the record's "time" as RFC 3339 (Teleport's format) or epoch seconds`,
        );
        break;
      case 'time_key':
        if (p.value.trim() !== 'time')
          ctx.warn(p.file, p.line, `"time_key ${p.value.trim()}" is not supported: the event time is read from "time"`);
        else ctx.info(p.file, p.line, '"time_key time" is the default');
        break;
      case 'keep_time_key':
        ctx.info(
          p.file,
          p.line,
          '"keep_time_key" is not needed: the ingest keeps "time" in the record (Datadog pipelines for Teleport remap it)',
        );
        break;
      case 'json_parser':
        ctx.info(p.file, p.line, '"json_parser" is not needed');
        break;
      default:
        ctx.warn(p.file, p.line, `"${p.key}" in <parse> is not carried over`);
    }
  }
}
