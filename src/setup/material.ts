// the mTLS material `configure` writes, as teleport-event-handler's configure makes it: a CA ("CA"), a server
// certificate ("Server") with the given names, a client certificate ("Client"), RSA keys in PKCS#1 PEM, and the
// server key encrypted (legacy PEM, AES-256) with a random passphrase. no file I/O here.
import { isIP } from 'node:net';
import { createCA, createCert, encryptKey, randomPassphrase, type CertKeyPem } from '../tls/certs.js';
import { SetupError } from '../errors.js';

export const KEY_BITS = [1024, 2048, 4096] as const;
export const DEFAULT_BITS = 4096; // like teleport-event-handler
export const DEFAULT_TTL_HOURS = 87600; // 10 years, like teleport-event-handler

export interface MaterialOptions {
  dnsNames: string[];
  ips: string[];
  ttlHours: number;
  bits: number;
  encryptServerKey: boolean;
}

export interface Material {
  ca: CertKeyPem;
  server: CertKeyPem;
  client: CertKeyPem;
  /** server.key as written: encrypted when a passphrase is set */
  serverKeyFile: string;
  passphrase?: string;
}

/** checks configure's certificate options; throws SetupError saying what to change */
export function checkMaterialOptions(o: MaterialOptions): void {
  if (!(KEY_BITS as readonly number[]).includes(o.bits)) {
    throw new SetupError(`key length ${o.bits} is not supported: use ${KEY_BITS.join(', ')} (--length)`);
  }
  if (!Number.isFinite(o.ttlHours) || o.ttlHours <= 0) {
    throw new SetupError(`certificate lifetime must be positive, got ${o.ttlHours} hours (--ttl, e.g. 87600h)`);
  }
  for (const ip of o.ips) {
    if (!isIP(ip)) throw new SetupError(`"${ip}" is not an IP address (--ip)`);
  }
  for (const d of o.dnsNames) {
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(d)) {
      throw new SetupError(`"${d}" is not a DNS name (--dns-names)`);
    }
  }
  if (o.dnsNames.length === 0 && o.ips.length === 0) {
    throw new SetupError('the server certificate needs a name: give --dns-names or --ip');
  }
}

export function createMaterial(o: MaterialOptions): Material {
  checkMaterialOptions(o);
  const common = { bits: o.bits, ttlHours: o.ttlHours };
  const ca = createCA({ ...common, commonName: 'CA' });
  const server = createCert(ca, { ...common, usage: 'server', commonName: 'Server', dnsNames: o.dnsNames, ips: o.ips });
  const client = createCert(ca, { ...common, usage: 'client', commonName: 'Client', dnsNames: o.dnsNames, ips: o.ips });
  if (!o.encryptServerKey) return { ca, server, client, serverKeyFile: server.key };
  const passphrase = randomPassphrase();
  return { ca, server, client, serverKeyFile: encryptKey(server.key, passphrase), passphrase };
}

export { parseTtlHours } from './ttl.js';
