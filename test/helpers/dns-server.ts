import { createSocket, type RemoteInfo } from 'node:dgram';

/**
 * A real DNS server in the test process (UDP, node:dgram) answering MX questions from a table,
 * so MX lookups go through node:dns exactly as in production without the internet. A domain not
 * in the table gets NXDOMAIN; `silent` domains get no answer at all (a dead DNS: the lookup times out).
 */
export interface DnsTable {
  mx: Record<string, string[]>;
  silent?: string[];
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])),
    Buffer.from([0]),
  ]);
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  while (msg[at]! > 0) {
    const len = msg[at]!;
    labels.push(msg.subarray(at + 1, at + 1 + len).toString('ascii'));
    at += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

export async function startDnsServer(table: DnsTable) {
  const socket = createSocket('udp4');
  const asked: string[] = [];
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    if (msg.length < 12) return;
    const { name, end } = readName(msg, 12);
    const question = msg.subarray(12, end + 4);
    const qtype = msg.readUInt16BE(end);
    asked.push(name);
    if (table.silent?.includes(name)) return;
    const hosts = qtype === 15 ? table.mx[name] : undefined;
    const known = name in table.mx;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(hosts?.length ?? 0, 6);
    const answers = (hosts ?? []).map((host, i) => {
      const exchange = encodeName(host);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(15, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(exchange.length + 2, 10);
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE((i + 1) * 10);
      return Buffer.concat([rr, pref, exchange]);
    });
    socket.send(Buffer.concat([header, question, ...answers]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    /** domains asked about, in order */
    asked,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
