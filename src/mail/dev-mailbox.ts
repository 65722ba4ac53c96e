import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  id: string;
  receivedAt: Date;
  envelopeFrom: string;
  envelopeTo: string[];
  subject: string;
  raw: Buffer;
}

/**
 * Development mailbox: a real SMTP server in-process that keeps the last messages in memory,
 * so a newcomer sees every mail at /dev/mailbox without installing anything.
 */
export class DevMailbox {
  private readonly mails: CaughtMail[] = [];
  private server?: SMTPServer;

  constructor(private readonly limit = 500) {}

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      size: 25 * 1024 * 1024,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          simpleParser(raw)
            .then((parsed) => {
              this.mails.unshift({
                id: randomUUID(),
                receivedAt: new Date(),
                envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                envelopeTo: session.envelope.rcptTo.map((r) => r.address),
                subject: parsed.subject ?? '',
                raw,
              });
              this.mails.length = Math.min(this.mails.length, this.limit);
              callback();
            })
            .catch((err: Error) => callback(err));
        });
      },
    });
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  list(): CaughtMail[] {
    return this.mails;
  }

  get(id: string): CaughtMail | undefined {
    return this.mails.find((m) => m.id === id);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
