import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import https from 'node:https';
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import { createCA, createCert, encryptKey, serialHex } from '../../src/tls/certs.js';

test('leaf certificates chain to their CA and carry SANs and usages', () => {
  const ca = createCA({ commonName: 'CA' });
  const server = createCert(ca, { usage: 'server', commonName: 'Server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const x = new X509Certificate(server.cert);
  const caX = new X509Certificate(ca.cert);
  assert.ok(x.verify(caX.publicKey));
  assert.ok(x.checkIssued(caX));
  assert.match(x.subjectAltName ?? '', /DNS:localhost/);
  assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.ok(caX.ca);
  assert.ok(x.checkPrivateKey(createPrivateKey(server.key)));
});

test('an encrypted key needs its passphrase', () => {
  const ca = createCA();
  const enc = encryptKey(ca.key, 'secret-pass');
  assert.match(enc, /Proc-Type: 4,ENCRYPTED/);
  assert.throws(() => createPrivateKey(enc));
  assert.ok(createPrivateKey({ key: enc, passphrase: 'secret-pass' }));
});

test('generated material works for a real mutual TLS handshake, and a foreign client is refused', async () => {
  const ca = createCA();
  const server = createCert(ca, { usage: 'server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client = createCert(ca, { usage: 'client', commonName: 'Client' });
  const other = createCA();
  const stranger = createCert(other, { usage: 'client' });
  const srv = https.createServer({ ...server, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (_q, r) =>
    r.end('hi'),
  );
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  const get = (c: { cert: string; key: string }) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, ca: ca.cert, cert: c.cert, key: c.key, agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
    });
  try {
    assert.equal(await get(client), 'hi');
    await assert.rejects(get(stranger));
  } finally {
    srv.close();
  }
});

test('serials are positive DER integers without padding, whatever the random bytes', () => {
  for (let first = 0; first < 256; first++) {
    for (const second of [0x00, 0x7f, 0x80, 0xff]) {
      const hex = serialHex(Buffer.from([first, second, ...new Uint8Array(14)]));
      const lead = parseInt(hex.slice(0, 2), 16);
      assert.ok(lead > 0 && lead < 0x80, `random bytes ${first},${second} gave serial ${hex}`);
      assert.equal(hex.length, 32);
    }
  }
  // all-zero bytes used to give a serial starting 00 00, which forge left padded and OpenSSL refused to load
  const ca = createCA();
  const caKey = forge.pki.privateKeyFromPem(
    createPrivateKey(ca.key).export({ type: 'pkcs1', format: 'pem' }).toString(),
  );
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(
    (caKey as forge.pki.rsa.PrivateKey).n,
    (caKey as forge.pki.rsa.PrivateKey).e,
  );
  cert.serialNumber = serialHex(Buffer.alloc(16));
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ shortName: 'CN', value: 'padding' }]);
  cert.setIssuer([{ shortName: 'CN', value: 'padding' }]);
  cert.sign(caKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  assert.equal(new X509Certificate(pem).serialNumber, '40000000000000000000000000000000');
  assert.ok(tls.createSecureContext({ cert: pem, key: ca.key }));
});
