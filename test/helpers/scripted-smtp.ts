import net from 'node:net';

/**
 * A scripted SMTP server on a raw socket, so a test can cut a session at an exact point: after the
 * envelope (no byte of the message sent) or after the body (the server has the message).
 */
export type Fault = 'none' | 'drop-at-rcpt' | 'drop-after-body' | 'refuse-rcpt' | 'close-when-idle';

export async function startScripted(
  faultFor: (session: number, message: number) => Fault,
  { pipelining = true }: { pipelining?: boolean } = {},
) {
  const messages: Array<{ session: number; to: string; body: string }> = [];
  const sockets = new Set<net.Socket>();
  let sessions = 0;
  let openNow = 0;
  let maxOpen = 0;
  const server = net.createServer((socket) => {
    const session = ++sessions;
    let inSession = 0;
    openNow++;
    maxOpen = Math.max(maxOpen, openNow);
    sockets.add(socket);
    socket.on('close', () => {
      openNow--;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let buffer = '';
    let data: string | undefined;
    let to = '';
    let fault: Fault = 'none';
    socket.write('220 scripted ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (data !== undefined) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 5);
          const body = data;
          data = undefined;
          messages.push({ session, to, body });
          if (fault === 'drop-after-body') return void socket.destroy();
          socket.write(`250 queued as ${messages.length}\r\n`);
          if (fault === 'close-when-idle') socket.end('421 closing idle session\r\n');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO')
          socket.write(`250-scripted\r\n${pipelining ? '250-PIPELINING\r\n' : ''}250 8BITMIME\r\n`);
        else if (verb === 'MAIL') {
          fault = faultFor(session, ++inSession);
          socket.write('250 ok\r\n');
        } else if (verb === 'RCPT') {
          to = /<([^>]*)>/.exec(line)?.[1] ?? '';
          if (fault === 'drop-at-rcpt') return void socket.destroy();
          socket.write(fault === 'refuse-rcpt' ? '550 5.1.1 no such user\r\n' : '250 ok\r\n');
        } else if (verb === 'DATA') {
          if (fault === 'refuse-rcpt') socket.write('554 no valid recipients\r\n');
          else {
            data = '';
            socket.write('354 go ahead\r\n');
          }
        } else if (verb === 'RSET') socket.write('250 reset\r\n');
        else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 unknown\r\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    sessions: () => sessions,
    maxOpen: () => maxOpen,
    openNow: () => openNow,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
