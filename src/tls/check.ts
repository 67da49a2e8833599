// checks of the ingest's TLS material, on PEM text already read: the CA is a CA and in date, the server certificate
// is in date and usable for a server, who signed it, and the key opens with its passphrase and matches. pure: the
// clock comes in as `now`. messages name files, never key material or passphrases.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { splitCertificates } from '../sources/teleport/identity.js';
import { blocker, result, isoSeconds, type CheckResult } from '../checks/report.js';

export const EXPIRY_WARN_MS = 30 * 24 * 3600_000; // warn when a certificate has less than 30 days left
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EKU = '2.5.29.37.0';

function reasonOf(err: unknown): string {
  const e = err as { reason?: unknown; message?: unknown };
  return String(e.reason ?? e.message ?? err);
}

export function commonName(dn: string): string | undefined {
  for (const part of dn.split(/\n|,\s*/)) {
    const m = /^CN=(.*)$/.exec(part.trim());
    if (m) return m[1];
  }
  return undefined;
}

function label(cert: X509Certificate): string {
  const cn = commonName(cert.subject);
  return cn ? `"${cn}"` : cert.subject.replace(/\n/g, ', ');
}

/** the validity of a certificate now: fail when outside it, warn when it ends within 30 days */
export function validity(cert: X509Certificate, now: number): { status: 'pass' | 'warn' | 'fail'; text: string } {
  const from = new Date(Date.parse(cert.validFrom));
  const to = new Date(Date.parse(cert.validTo));
  if (now >= to.getTime()) return { status: 'fail', text: `expired at ${isoSeconds(to)}` };
  if (now < from.getTime())
    return { status: 'fail', text: `not valid before ${isoSeconds(from)} (check this machine's clock)` };
  const days = Math.floor((to.getTime() - now) / 86_400_000);
  if (to.getTime() - now < EXPIRY_WARN_MS)
    return { status: 'warn', text: `expires in ${days} days, at ${isoSeconds(to)}` };
  return { status: 'pass', text: `valid until ${isoSeconds(to)}` };
}

export interface CaCheck {
  result: CheckResult;
  /** the parsed CA certificates (empty when the file is unusable) */
  cas: X509Certificate[];
}

/** the CA file: PEM certificates, at least one of them a CA (basicConstraints CA:TRUE), in date */
export function checkCa(text: string, file: string, now: number, name = 'ingest.ca'): CaCheck {
  const blocks = splitCertificates(text);
  if (blocks.length === 0)
    return {
      result: blocker(name, `${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`),
      cas: [],
    };
  const certs: X509Certificate[] = [];
  for (const [i, pem] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(pem));
    } catch (err) {
      return { result: blocker(name, `certificate ${i + 1} in ${file} does not parse: ${reasonOf(err)}`), cas: [] };
    }
  }
  const cas = certs.filter((c) => c.ca);
  if (cas.length === 0) {
    const what = certs.length === 1 ? `${label(certs[0]!)} is not a CA certificate` : 'holds no CA certificate';
    return {
      result: result(
        'fail',
        name,
        `${file}: ${what} (no basicConstraints CA:TRUE), so no client certificate can verify against it: set ${name} to the CA that signed the client certificates (ca.crt of \`configure\`)`,
      ),
      cas: [],
    };
  }
  // the earliest-ending CA decides: a bundle is only as good as its weakest part for the clients it signed
  const worst = cas.map((c) => ({ c, v: validity(c, now) })).sort((a, b) => rank(b.v.status) - rank(a.v.status))[0]!;
  const extra =
    certs.length > cas.length ? `; ${certs.length - cas.length} certificate(s) in it are not CAs and are ignored` : '';
  const status = worst.v.status === 'pass' && extra ? 'warn' : worst.v.status;
  return { result: result(status, name, `${file} CA ${label(worst.c)} ${worst.v.text}${extra}`), cas };
}

function rank(s: 'pass' | 'warn' | 'fail'): number {
  return s === 'fail' ? 2 : s === 'warn' ? 1 : 0;
}

/** the server certificate: parses, in date, may be used by a server, has names */
export function checkServerCert(
  text: string,
  file: string,
  now: number,
): { result: CheckResult; cert?: X509Certificate } {
  const name = 'ingest.cert';
  const blocks = splitCertificates(text);
  if (blocks.length === 0)
    return { result: blocker(name, `${file} holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`) };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(blocks[0]!);
  } catch (err) {
    return { result: blocker(name, `${file} does not parse as a certificate: ${reasonOf(err)}`) };
  }
  const v = validity(cert, now);
  if (v.status === 'fail')
    return {
      result: result('fail', name, `${file} ${label(cert)} ${v.text}: renew it (\`configure\` makes new ones)`),
      cert,
    };
  const eku = cert.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(SERVER_AUTH) && !eku.includes(ANY_EKU)) {
    return {
      result: result(
        'fail',
        name,
        `${file} ${label(cert)} may not be used by a server (its extended key usage lacks serverAuth): clients will refuse it`,
      ),
      cert,
    };
  }
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter(Boolean)
    .map((n) => n.replace(/^(DNS|IP Address):/, ''));
  if (names.length === 0) {
    return {
      result: result(
        'warn',
        name,
        `${file} ${v.text}, but it has no subject alternative names: clients that verify the host name (teleport-event-handler does) will refuse it`,
      ),
      cert,
    };
  }
  return { result: result(v.status, name, `${file} ${v.text} (names: ${names.join(', ')})`), cert };
}

/** whether the server certificate was signed by one of the CAs in the CA file */
export function checkChain(
  cert: X509Certificate,
  cas: X509Certificate[],
  certFile: string,
  caFile: string,
): CheckResult {
  const name = 'ingest.chain';
  const signer = cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (signer)
    return result(
      'pass',
      name,
      `${certFile} is signed by the CA in ${caFile}: teleport-event-handler verifies the ingest with that same file`,
    );
  return result(
    'warn',
    name,
    `${certFile} is not signed by the CA in ${caFile} (its issuer is ${commonName(cert.issuer) ?? cert.issuer.replace(/\n/g, ', ')}). ` +
      `${caFile} only verifies client certificates, so this works only if teleport-event-handler's forward.fluentd.ca holds the server certificate's issuer`,
  );
}

/**
 * the private key: a PEM key, decrypted with the passphrase when encrypted, matching the certificate.
 * `passphraseFrom` names where the passphrase came from, for messages.
 */
export function checkKey(
  text: string,
  file: string,
  o: { cert?: X509Certificate; certFile?: string; passphrase?: string; passphraseFrom?: string; name?: string },
): CheckResult {
  const name = o.name ?? 'ingest.key';
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    return blocker(
      name,
      `${file} holds no PEM private key (expected "-----BEGIN RSA PRIVATE KEY-----" or "-----BEGIN PRIVATE KEY-----")`,
    );
  }
  const encrypted = /ENCRYPTED/.test(text);
  if (encrypted && !o.passphrase) {
    return blocker(
      name,
      `${file} is encrypted and no passphrase is set: set ingest.key-passphrase-file (the server.key.passphrase of \`configure\`, or private_key_passphrase of fluent.conf) or TDF_INGEST_KEY_PASSPHRASE`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', passphrase: encrypted ? o.passphrase : undefined });
  } catch (err) {
    if (encrypted)
      return blocker(
        name,
        `${file} could not be decrypted: the passphrase from ${o.passphraseFrom ?? 'ingest.key-passphrase'} is wrong`,
      );
    return blocker(name, `${file} is not a valid PEM private key: ${reasonOf(err)}`);
  }
  const details = key.asymmetricKeyDetails;
  const kind = `${(key.asymmetricKeyType ?? 'unknown').toUpperCase()}${details?.modulusLength ? ` ${details.modulusLength}` : ''}${encrypted ? ', encrypted' : ''}`;
  if (o.cert) {
    if (!o.cert.checkPrivateKey(key)) {
      return blocker(
        name,
        `${file} does not match ${o.certFile ?? 'the certificate'}: use the key that was written with that certificate`,
      );
    }
    return result('pass', name, `${file} (${kind}) matches ${o.certFile ?? 'the certificate'}`);
  }
  return result('pass', name, `${file} (${kind}) opens; no usable certificate to match it against`);
}
