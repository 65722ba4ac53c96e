import net from 'node:net';

/**
 * A TCP proxy in front of the SMTP sink. It shields the sink from clients that die mid-session
 * (their resets end the upstream session cleanly), and it loses the server's reply to the end of
 * DATA for chosen recipients: the message reaches the server (which accepts and keeps it), then the
 * client's connection is cut before the 250 arrives. That is RFC 1047's case: the sender cannot
 * know whether the message was accepted, and resending it would be a duplicate.
 */
export async function startDropProxy() {
  let target = 0;
  const dropFor = new Set<string>();
  const cutAtRcptFor = new Set<string>();
  const cutAtRcptDomains = new Set<string>();
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    // a client that dies (a killed worker) ends the server side cleanly: the sink sees a closed
    // session, not a reset
    client.on('error', () => endUpstream());
    upstream.on('error', () => client.destroy());

    let forwardReplies = true;
    upstream.on('data', (chunk) => {
      if (forwardReplies) client.write(chunk);
      else upstream.destroy(); // the reply to DATA arrived: the server has the message
    });
    upstream.on('end', () => client.end());

    let mode: 'command' | 'data' = 'command';
    let line = '';
    let tail = '';
    let armed = false;
    client.on('data', (chunk: Buffer) => {
      if (!forwardReplies) return;
      const text = chunk.toString('latin1');
      if (mode === 'data') {
        const seen = tail + text;
        const end = seen.indexOf('\r\n.\r\n');
        if (end >= 0 && armed) {
          upstream.write(chunk);
          forwardReplies = false;
          client.destroy();
          return;
        }
        if (end >= 0) {
          mode = 'command';
          armed = false;
          line = seen.slice(end + 5);
        }
        tail = seen.slice(-4);
        upstream.write(chunk);
        return;
      }
      line += text;
      let nl = line.indexOf('\r\n');
      while (nl >= 0) {
        const cmd = line.slice(0, nl);
        line = line.slice(nl + 2);
        const rcpt = /^RCPT TO:\s*<([^>]*)>/i.exec(cmd);
        const to = rcpt?.[1]?.toLowerCase();
        if (to && (cutAtRcptFor.delete(to) || cutAtRcptDomains.has(to.slice(to.lastIndexOf('@') + 1)))) {
          // the envelope never reaches the server; the client loses its connection before DATA
          client.destroy();
          upstream.end();
          return;
        }
        if (rcpt && dropFor.has(rcpt[1]!.toLowerCase())) armed = true;
        if (/^RSET\b/i.test(cmd)) armed = false;
        if (/^DATA\s*$/i.test(cmd)) {
          mode = 'data';
          tail = '\r\n';
          line = '';
          break;
        }
        nl = line.indexOf('\r\n');
      }
      upstream.write(chunk);
    });
    // once the reply is being withheld, the upstream session stays open until the server has
    // answered (and so has the message); it is closed by the reply handler above
    const endUpstream = () => {
      if (forwardReplies) upstream.end();
      else setTimeout(() => upstream.destroy(), 5000).unref();
    };
    client.on('end', endUpstream);
    client.on('close', endUpstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    /** the sink's port; set before the first connection */
    setTarget(p: number) {
      target = p;
    },
    dropFor,
    /** once per address: cut the client's connection when its RCPT TO arrives (before any DATA) */
    cutAtRcptFor,
    /** every time: cut the client's connection at a RCPT TO to these domains (a provider's storm) */
    cutAtRcptDomains,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
