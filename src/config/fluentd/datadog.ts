// one fluent-plugin-datadog output: the fields of its rule (source, service, tags…) and its destination (site or
// url, api key, compression); the first destination becomes [datadog]. pure.
import { isSite, parseIntakeUrl } from '../../sinks/datadog/site.js';
import { API_KEY_FILE, type Destination, type Entry, type MigrationContext } from './context.js';
import { getParam, type FluentSection } from './tree.js';
import { fluentBool, fluentInt } from './values.js';

/** one fluent-plugin-datadog output: the rule's fields and its destination */
export function datadog(ctx: MigrationContext, s: FluentSection): { fields: Entry[]; dest: Destination } {
  const fields: Entry[] = [];
  const dest: Destination = { where: ctx.where(s.file, s.line) };
  const p = (k: string) => getParam(s, k);
  const useSsl = p('use_ssl') ? fluentBool(p('use_ssl')!.value) !== false : true;
  // an explicit host wins over site, as in fluent-plugin-datadog
  const hostParam = p('host');
  const hostValue = hostParam?.value.trim().toLowerCase() ?? '';
  const intakeHost = /^(?:http-)?intake\.logs\.(.+)$/.exec(hostValue);
  const customHost = hostValue !== '' && !(intakeHost && isSite(intakeHost[1]!));
  for (const q of s.params) {
    const v = (): string | undefined => ctx.value(q);
    switch (q.key) {
      case '@type':
      case 'type':
        break;
      case 'api_key': {
        const sec = ctx.secret(q, 'the Datadog API key');
        dest.apiKey = sec.value;
        dest.apiKeyEnv = sec.env;
        if (sec.env === 'DD_API_KEY')
          ctx.info(
            q.file,
            q.line,
            'api_key is read from the environment variable DD_API_KEY, which the forwarder reads too: keep it set',
          );
        else if (sec.env)
          ctx.warn(
            q.file,
            q.line,
            `api_key came from the environment variable ${sec.env}: the forwarder reads DD_API_KEY, so set DD_API_KEY to the same value`,
          );
        else if (sec.value === undefined)
          ctx.warn(q.file, q.line, 'api_key is empty: set DD_API_KEY (or datadog.api-key-file)');
        break;
      }
      case 'site': {
        const site = v()?.trim().toLowerCase();
        if (!site) break;
        if (hostParam) {
          ctx.info(q.file, q.line, '"site" is not carried over: "host" is set and wins, as in fluent-plugin-datadog');
          break;
        }
        if (isSite(site)) dest.site = site;
        else {
          ctx.warn(
            q.file,
            q.line,
            `"site ${site}" is not a Datadog site the forwarder knows: written as datadog.url https://http-intake.logs.${site}`,
          );
          dest.url = `https://http-intake.logs.${site}`;
        }
        break;
      }
      case 'host': {
        const host = v()?.trim().toLowerCase();
        if (!host) break;
        const http = /^http-intake\.logs\.(.+)$/.exec(host);
        const tcp = /^intake\.logs\.(.+)$/.exec(host);
        if (http && isSite(http[1]!)) {
          dest.site = http[1];
          dest.url = undefined;
        } else if (tcp && isSite(tcp[1]!)) {
          dest.site = tcp[1];
          dest.url = undefined;
          ctx.info(q.file, q.line, `"host ${host}" is the TCP intake: logs go to the HTTP intake of ${tcp[1]}`);
        } else {
          const portParam = useSsl ? p('ssl_port') : p('port');
          const port = portParam ? fluentInt(portParam.value) : undefined;
          const defPort = useSsl ? 443 : 80;
          const url = `${useSsl ? 'https' : 'http'}://${host}${port !== undefined && port !== defPort ? ':' + port : ''}`;
          try {
            dest.url = parseIntakeUrl(url);
            dest.site = undefined;
            ctx.warn(
              q.file,
              q.line,
              `"host ${host}" is not a Datadog intake: written as datadog.url ${dest.url} (a proxy?); logs are POSTed to ${dest.url}/api/v2/logs`,
            );
          } catch (err) {
            ctx.warn(q.file, q.line, `"host" is not carried over: ${(err as Error).message}`);
          }
        }
        break;
      }
      case 'port':
      case 'ssl_port':
        if (!customHost) ctx.info(q.file, q.line, `"${q.key}" is not needed: the intake is reached on 443 over HTTPS`);
        break;
      case 'use_ssl':
        if (fluentBool(q.value) === false && !customHost)
          ctx.warn(q.file, q.line, '"use_ssl false" is not carried over: the forwarder always uses HTTPS to Datadog');
        break;
      case 'use_http':
        if (fluentBool(q.value) === false)
          ctx.warn(q.file, q.line, '"use_http false" (the TCP intake) is not supported: logs go to the HTTP intake');
        else ctx.info(q.file, q.line, '"use_http" is not needed: the forwarder always uses the HTTP intake');
        break;
      case 'use_json':
        if (fluentBool(q.value) === false)
          ctx.warn(q.file, q.line, '"use_json false" is not supported: logs are sent as JSON');
        else ctx.info(q.file, q.line, '"use_json" is not needed: logs are sent as JSON');
        break;
      case 'dd_source':
      case 'dd_sourcecategory':
      case 'service':
      case 'tag_key':
      case 'timestamp_key': {
        const val = v();
        const key = {
          dd_source: 'source',
          dd_sourcecategory: 'source-category',
          service: 'service',
          tag_key: 'tag-key',
          timestamp_key: 'timestamp-key',
        }[q.key]!;
        if (val !== undefined) fields.push({ key, value: val });
        break;
      }
      case 'dd_hostname': {
        if (
          (q.embedded ?? []).length === 1 &&
          /^\s*Socket\.gethostname\s*$/.test(q.embedded![0]!.code) &&
          q.value === `#{${q.embedded![0]!.code}}`
        ) {
          ctx.info(
            q.file,
            q.line,
            '"dd_hostname #{Socket.gethostname}" is the default: the forwarder uses the machine\'s host name',
          );
          break;
        }
        const val = v();
        if (val !== undefined) fields.push({ key: 'hostname', value: val });
        break;
      }
      case 'dd_tags': {
        const val = v();
        if (val !== undefined)
          fields.push({
            key: 'tags',
            value: val
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean),
          });
        break;
      }
      case 'include_tag_key': {
        const b = fluentBool(q.value);
        if (b === undefined) ctx.warn(q.file, q.line, '"include_tag_key" is not true or false: not carried over');
        else fields.push({ key: 'include-tag-key', value: b });
        break;
      }
      case 'use_compression': {
        const b = fluentBool(q.value);
        if (b === undefined) ctx.warn(q.file, q.line, '"use_compression" is not true or false: not carried over');
        else dest.compression = b ? 'gzip' : 'none';
        break;
      }
      case 'compression_level': {
        const n = fluentInt(q.value);
        if (n === undefined || n < 0 || n > 9)
          ctx.warn(q.file, q.line, '"compression_level" is not 0 to 9: not carried over');
        else if (n === 0) {
          ctx.info(q.file, q.line, '"compression_level 0" is written as 1, the lowest level the forwarder accepts');
          dest.compressionLevel = 1;
        } else dest.compressionLevel = n;
        break;
      }
      case 'max_retries':
      case 'max_backoff':
        ctx.info(
          q.file,
          q.line,
          `"${q.key}" is not carried over: the forwarder retries 408, 429, 5xx and network errors with capped, jittered backoff for as long as it takes (records wait in the spool), holds on 401/403 and never drops a batch silently`,
        );
        break;
      case 'http_proxy':
        ctx.warn(
          q.file,
          q.line,
          '"http_proxy" is not supported (no forward proxy): if it is a reverse proxy to the intake, set datadog.url to it; for a TLS-intercepting proxy also set datadog.ca-file',
        );
        break;
      case 'no_ssl_validation':
        if (fluentBool(q.value) === true)
          ctx.warn(
            q.file,
            q.line,
            '"no_ssl_validation true" is not carried over: TLS verification stays on; to trust a proxy\'s own CA, set datadog.ca-file',
          );
        else ctx.info(q.file, q.line, '"no_ssl_validation false" is the default: verification stays on');
        break;
      case 'custom_headers':
        ctx.warn(
          q.file,
          q.line,
          '"custom_headers" is not supported: requests carry DD-API-KEY, Content-Type and Content-Encoding',
        );
        break;
      case 'force_v1_routes':
        ctx.info(q.file, q.line, '"force_v1_routes" is not carried over: the forwarder uses the v2 logs API');
        break;
      case 'tcp_ping_rate':
      case 'format_type':
      case '@id':
      case '@log_level':
        ctx.info(q.file, q.line, `"${q.key}" is not carried over: not needed`);
        break;
      default:
        ctx.warn(
          q.file,
          q.line,
          `"${q.key}" is not a fluent-plugin-datadog setting the forwarder knows: not carried over`,
        );
    }
  }
  for (const x of s.sections) {
    if (x.name === 'buffer') {
      const keys = x.params.map((q) => q.key).filter((k) => k !== '@type');
      ctx.info(
        x.file,
        x.line,
        `<buffer>${keys.length ? ' (' + keys.join(', ') + ')' : ''} is not carried over: the forwarder keeps records in its durable spool (LevelDB, synced before acknowledging) until Datadog answers 202; spool.max-bytes bounds it and a full spool pushes back instead of dropping`,
      );
    } else {
      ctx.warn(x.file, x.line, `<${x.name}> in @type datadog is not carried over`);
    }
  }
  return { fields, dest };
}

/** the [datadog] table from the first destination; the api key becomes a secret file or stays in the env */
export function destination(ctx: MigrationContext, d: Destination): void {
  const t = ctx.table('datadog', [`where logs go, from the first @type datadog output (${d.where})`]);
  if (d.url) t.entries.push({ key: 'url', value: d.url });
  else t.entries.push({ key: 'site', value: d.site ?? 'datadoghq.com' });
  if (d.apiKey !== undefined || d.apiKeyEnv) ctx.apiKeyFound = true;
  if (d.apiKey !== undefined) {
    ctx.result.apiKey = d.apiKey;
    if (!d.apiKeyEnv && ctx.writeSecretFiles) {
      ctx.secretFiles.push({ name: API_KEY_FILE, value: d.apiKey, what: 'the Datadog API key' });
      t.entries.push({ key: 'api-key-file', value: API_KEY_FILE });
    }
  }
  if (d.apiKeyEnv) ctx.result.apiKeyEnv = d.apiKeyEnv;
  t.entries.push({ key: 'compression', value: d.compression ?? 'gzip' });
  if (d.compressionLevel !== undefined) t.entries.push({ key: 'compression-level', value: d.compressionLevel });
}

/** the fluent-plugin-datadog settings in which two destinations differ, for notes */
export function destinationDiff(a: Destination, b: Destination): string[] {
  const out: string[] = [];
  if ((a.url ?? a.site ?? 'datadoghq.com') !== (b.url ?? b.site ?? 'datadoghq.com'))
    out.push(a.url || b.url ? 'intake (host)' : 'site');
  if (a.apiKey !== b.apiKey || a.apiKeyEnv !== b.apiKeyEnv) out.push('api_key');
  if ((a.compression ?? 'gzip') !== (b.compression ?? 'gzip')) out.push('use_compression');
  if ((a.compressionLevel ?? 6) !== (b.compressionLevel ?? 6)) out.push('compression_level');
  return out;
}

/** the rule fields in which two datadog outputs differ */
export function fieldsDiff(a: Entry[], b: Entry[]): string[] {
  const keys = new Set([...a, ...b].map((e) => e.key));
  const get = (list: Entry[], k: string) => JSON.stringify(list.find((e) => e.key === k)?.value);
  return [...keys].filter((k) => get(a, k) !== get(b, k));
}
