// a loopback port that nothing listens on right now: for a connection that must be refused, or a port two
// processes are told to share
import { createServer } from 'node:net';

export async function unusedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
