// load-generator clients that post the way go's net/http does for teleport-event-handler: mutual tls, keep-alive,
// one json event per POST with go's headers. http/1.1 is a raw tls socket with a minimal response parser (node's
// https client costs more cpu than the server under test, and the client shares the 2 cores with it); http/2 is
// one node:http2 session with many streams, as go would multiplex.
import tls from 'node:tls';
import http2 from 'node:http2';

export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
  /** tls server name; the generated server certificate has localhost and 127.0.0.1 */
  servername: string;
}

/** one lane of requests: at most one in flight; resolves with the http status */
export interface Lane {
  post(path: string, body: string): Promise<number>;
  close(): void;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** http/1.1 over one keep-alive mtls connection; reconnects after `Connection: close` like go's transport */
export class H1Lane implements Lane {
  private socket: tls.TLSSocket | null = null;
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve(status: number): void; reject(err: Error): void } | null = null;
  private closeAfter = false;
  private closed = false;
  /** connections opened (1 + reconnects) */
  connects = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly material: ClientTls,
    /** go offers h2 too when http2 is enabled; a server offering only http/1.1 picks that */
    private readonly alpn: string[] = ['http/1.1'],
  ) {}

  private connect(): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        host: this.host,
        port: this.port,
        ca: this.material.ca,
        cert: this.material.cert,
        key: this.material.key,
        servername: this.material.servername,
        ALPNProtocols: this.alpn,
      });
      s.setNoDelay(true);
      s.once('secureConnect', () => {
        if (s.alpnProtocol && s.alpnProtocol !== 'http/1.1') {
          s.destroy();
          reject(new Error(`server chose ${s.alpnProtocol}; this lane speaks http/1.1`));
          return;
        }
        s.off('error', reject);
        s.on('error', (err) => this.fail(err));
        resolve(s);
      });
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('close', () => {
        if (this.socket === s) this.socket = null;
        this.fail(new Error('connection closed by the server'));
      });
      this.connects++;
    });
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = null;
    this.buf = Buffer.alloc(0);
    w?.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const m = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    let total: number;
    if (m) {
      total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return;
    } else if (lower.includes('\r\ntransfer-encoding: chunked')) {
      const last = this.buf.indexOf('0\r\n\r\n', end + 4);
      if (last < 0) return;
      total = last + 5;
    } else {
      total = end + 4;
    }
    if (/\r\nconnection:\s*close/.test(lower)) this.closeAfter = true;
    this.buf = this.buf.length === total ? Buffer.alloc(0) : this.buf.subarray(total);
    const w = this.waiting;
    this.waiting = null;
    w?.resolve(status);
  }

  async post(path: string, body: string): Promise<number> {
    if (this.closed) throw new Error('lane closed');
    if (this.closeAfter && this.socket) {
      this.socket.destroy();
      this.socket = null;
    }
    this.closeAfter = false;
    this.socket ??= await this.connect();
    const s = this.socket;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      s.write(
        `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUser-Agent: Go-http-client/1.1\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n${body}`,
      );
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
  }
}

/** one http/2 session shared by `lanes` lanes, each a stream at a time */
export class H2Session {
  private session: http2.ClientHttp2Session | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly material: ClientTls,
  ) {}

  async open(): Promise<void> {
    const session = http2.connect(`https://${this.host}:${this.port}`, {
      ca: this.material.ca,
      cert: this.material.cert,
      key: this.material.key,
      servername: this.material.servername,
      // go's default: 1000 streams, we use at most the lanes
      settings: { enablePush: false },
    });
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => {
        session.off('error', reject);
        resolve();
      });
      session.once('error', reject);
    });
    session.on('error', () => {});
    const socket = session.socket as tls.TLSSocket;
    if (socket.alpnProtocol !== 'h2') throw new Error(`server chose ${String(socket.alpnProtocol)}, not h2`);
    this.session = session;
  }

  lane(): Lane {
    return {
      post: (path, body) => this.post(path, body),
      close: () => {},
    };
  }

  private post(path: string, body: string): Promise<number> {
    const session = this.session;
    if (session === null) return Promise.reject(new Error('h2 session not open'));
    return new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'Go-http-client/2.0',
        'accept-encoding': 'gzip',
      });
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', () => {});
      req.on('end', () => resolve(status));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.session?.destroy();
    this.session = null;
  }
}
