// a sample teleport-event-handler.toml for users who keep the Go handler: it posts to our ingest with the client
// certificate `configure` wrote. same keys as the handler's own `configure` output. pure.
import { isIP } from 'node:net';
import { tomlValue } from './toml.js';

export interface HandlerTomlOptions {
  /** absolute paths: the Go handler resolves relative paths against its working directory, not this file */
  ca: string;
  cert: string;
  key: string;
  /** host name (or IP) on the server certificate that the handler dials */
  host: string;
  port: number;
  teleportAddr?: string;
  /** every name and address on server.crt, for the comment on which host the url may name */
  certNames?: string[];
}

/** https://host:port, with an IPv6 address in brackets */
export function ingestBaseUrl(host: string, port: number): string {
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export function handlerToml(o: HandlerTomlOptions): string {
  const base = ingestBaseUrl(o.host, o.port);
  const v = tomlValue;
  const names = (o.certNames ?? [o.host]).join(', ');
  const addr = o.teleportAddr
    ? `# the Teleport Proxy or Auth Service the handler reads
addr = ${v(o.teleportAddr)}`
    : `# replace: your Teleport Proxy (host:443) or Auth Service (host:3025)
addr = "teleport.example.com:443"`;
  return `# a teleport-event-handler.toml that sends to teleport-datadog-forwarder's ingest instead of Fluentd, written by
# \`teleport-datadog-forwarder configure\`. copy ca.crt, client.crt and client.key to the handler's host, replace
# what the lines marked "replace" say, then: teleport-event-handler start --config teleport-event-handler.toml
#
# the handler keeps its own cursor in storage: a directory of its own, never the forwarder's storage.
storage = "./event-handler-storage"
timeout = "10s"
batch = 20
window-size = "24h"
concurrency = 5
types = ""
skip-event-types = []
skip-session-types = ["print"]

[forward.fluentd]
# replace: the paths of ca.crt, client.crt and client.key on the handler's host, if you copy them elsewhere
# the forwarder's CA: the handler verifies the ingest's server certificate with it
ca = ${v(o.ca)}
# the client certificate and key the ingest requires (mutual TLS)
cert = ${v(o.cert)}
key = ${v(o.key)}
# replace: ${o.host} with how the handler reaches the forwarder, a name on server.crt (${names}; more with
# configure --dns-names or --ip)
# audit events are posted to <url>: the path gives their tag (events.log)
url = ${v(`${base}/events.log`)}
# session recording events go to <session-url>.<session id>.log
session-url = ${v(`${base}/session`)}

[teleport]
${addr}
# replace: the path of the handler's own identity file (the user and role teleport-event-handler's guide has
# you create, signed with tctl auth sign --format=file)
identity = "identity"
refresh.enabled = true
refresh.interval = "2m"
`;
}
