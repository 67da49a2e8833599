// a tls front like a teleport proxy: terminates mTLS with the given certificate, records what each client offered
// (ALPN, SNI, its certificate's CN), picks the protocol (default: h2 when offered; undefined refuses the handshake
// with no_application_protocol, as a proxy with no route does) and pipes the connection to an upstream socket.
import net from 'node:net';
import tls from 'node:tls';

export interface FrontSeen {
  alpn: string[];
  sni: string | undefined;
  clientCn: string | undefined;
}

export interface TlsFront {
  port: number;
  /** one entry per handshake that reached the ALPN choice */
  seen: FrontSeen[];
  close(): Promise<void>;
}

export async function tlsFront(o: {
  cert: string;
  key: string;
  /** CAs of accepted client certificates */
  ca: string[];
  choose?: (protocols: string[]) => string | undefined;
  upstream: () => net.Socket;
}): Promise<TlsFront> {
  const seen: FrontSeen[] = [];
  const sockets = new Set<net.Socket>();
  const choose = o.choose ?? ((protocols) => (protocols.includes('h2') ? 'h2' : undefined));
  const server = tls.createServer(
    {
      key: o.key,
      cert: o.cert,
      ca: o.ca,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNCallback: ({ servername, protocols }) => {
        seen.push({ alpn: protocols, sni: servername, clientCn: undefined });
        return choose(protocols);
      },
    },
    (sock) => {
      const last = seen[seen.length - 1];
      if (last) last.clientCn = sock.getPeerCertificate().subject?.CN as string | undefined;
      const up = o.upstream();
      sockets.add(sock).add(up);
      sock.pipe(up).pipe(sock);
      const end = () => {
        sock.destroy();
        up.destroy();
      };
      sock.on('error', end).on('close', end);
      up.on('error', end).on('close', end);
    },
  );
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
