import net from 'node:net';

/**
 * A TCP proxy a test can take away and bring back on the same port: a process whose DATABASE_URL
 * points here sees the database become unreachable (its connections reset, new ones refused) and
 * return, while the shared PostgreSQL itself keeps running for everyone else.
 */
export async function startTcpProxy(initialTarget: number, targetHost = '127.0.0.1') {
  let targetPort = initialTarget;
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;

  async function listen(): Promise<void> {
    const s = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as net.AddressInfo).port;
    server = s;
  }

  await listen();
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    /** where connections go from now on (a proxy may be started before its target) */
    setTarget(to: number): void {
      targetPort = to;
    },
    /** cuts every connection and refuses new ones */
    async stop(): Promise<void> {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    /** accepts connections again, on the same port */
    async resume(): Promise<void> {
      if (!server) await listen();
    },
    close(): Promise<void> {
      return this.stop();
    },
  };
}
