// mTLS material on disk and a client that posts the way teleport-event-handler does (keep-alive, one JSON
// event per POST, Content-Type application/json)
import https from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, createCert, type CertKeyPem } from '../../src/tls/certs.js';

export interface TlsFiles {
  dir: string;
  ca: CertKeyPem;
  server: CertKeyPem;
  client: CertKeyPem;
  paths: { ca: string; cert: string; key: string; clientCert: string; clientKey: string };
}

export function writeTlsFiles(dir = mkdtempSync(join(tmpdir(), 'tdf-tls-'))): TlsFiles {
  const ca = createCA();
  const server = createCert(ca, { usage: 'server', commonName: 'Server', dnsNames: ['localhost'], ips: ['127.0.0.1'] });
  const client = createCert(ca, { usage: 'client', commonName: 'Client' });
  const paths = {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
  writeFileSync(paths.ca, ca.cert);
  writeFileSync(paths.cert, server.cert);
  writeFileSync(paths.key, server.key, { mode: 0o600 });
  writeFileSync(paths.clientCert, client.cert);
  writeFileSync(paths.clientKey, client.key, { mode: 0o600 });
  return { dir, ca, server, client, paths };
}

export interface PostResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export class MtlsClient {
  readonly agent: https.Agent;
  constructor(
    private readonly port: number,
    tls: TlsFiles,
    maxSockets = 10,
  ) {
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets,
      ca: tls.ca.cert,
      cert: tls.client.cert,
      key: tls.client.key,
      servername: 'localhost',
    });
  }

  post(
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<PostResult> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: this.port, path, method: 'POST', agent: this.agent, headers, timeout: 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
