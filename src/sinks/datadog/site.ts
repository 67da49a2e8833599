// where the logs go: a datadog site name, or an explicit intake url (a proxy, the fake intake in tests).
// pure: validation and url building only.
import { ConfigError } from '../../errors.js';
import { API_SUBDOMAIN, INTAKE_PATH, INTAKE_SUBDOMAIN, SITES, type DatadogSite } from './limits.js';

export interface IntakeEndpoint {
  /** the site, or null when an explicit url was given */
  site: DatadogSite | null;
  /** base url of the logs intake, no trailing slash, e.g. `https://http-intake.logs.datadoghq.eu` */
  intakeBaseUrl: string;
  /** base url for the api key check (`/api/v1/validate`); the explicit url itself when one was given */
  apiBaseUrl: string;
}

export function isSite(value: string): value is DatadogSite {
  return (SITES as readonly string[]).includes(value);
}

/** a site name as users write it (any case, spaces around) -> a known site, or a ConfigError listing them */
export function parseSite(value: string): DatadogSite {
  const site = value.trim().toLowerCase();
  if (isSite(site)) return site;
  // a value that is no host name at all (an api key pasted into the wrong field) is not echoed
  const shown =
    /^[a-z0-9.-]{1,63}$/i.test(value.trim()) && value.includes('.')
      ? `"${value}"`
      : `(${value.length} characters, not shown)`;
  throw new ConfigError(`unknown Datadog site ${shown}: use one of ${SITES.join(', ')}, or set an explicit intake url`);
}

export function intakeBaseUrl(site: DatadogSite): string {
  return `https://${INTAKE_SUBDOMAIN}.${site}`;
}

export function apiBaseUrl(site: DatadogSite): string {
  return `https://${API_SUBDOMAIN}.${site}`;
}

/**
 * an explicit intake url -> its base (scheme, host, port and any path prefix, no trailing slash). a full logs url
 * (`…/api/v2/logs`) is accepted too and cut back to its base. credentials, query strings and fragments are refused:
 * they would end up in logs and error messages.
 */
export function parseIntakeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(
      `Datadog intake url "${withoutCredentials(value)}" is not a valid url: expected e.g. https://proxy.example.com:8443`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `Datadog intake url "${withoutCredentials(value)}" must use http or https, not ${url.protocol.replace(/:$/, '')}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'Datadog intake url must not contain credentials: the API key is sent in the DD-API-KEY header',
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigError(
      `Datadog intake url "${url.origin}${url.pathname}" must not have a query or fragment (use the ddtags option for tags)`,
    );
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (path.endsWith(INTAKE_PATH)) path = path.slice(0, -INTAKE_PATH.length);
  return url.origin + path;
}

/** site or explicit url -> endpoint; an explicit url wins over the site; neither means the default site */
export function resolveIntake(options: { site?: string | undefined; url?: string | undefined }): IntakeEndpoint {
  if (options.url !== undefined && options.url.trim() !== '') {
    const base = parseIntakeUrl(options.url);
    return { site: null, intakeBaseUrl: base, apiBaseUrl: base };
  }
  const site = parseSite(options.site ?? SITES[0]);
  return { site, intakeBaseUrl: intakeBaseUrl(site), apiBaseUrl: apiBaseUrl(site) };
}

/** a url as it may be shown in an error: whatever stands before an @ in its authority (user:password) masked */
function withoutCredentials(value: string): string {
  return value.replace(/^([^/]*\/\/)[^/?#]*@/, '$1***@');
}
