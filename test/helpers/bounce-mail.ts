import nodemailer from 'nodemailer';
import { eventually, type TestContext } from './context.js';

/** Sends raw bounce mail to the inbound listener over a real SMTP connection, with the null sender. */
export async function mailBounce(port: number, to: string, raw: Buffer): Promise<{ response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    const info = await transport.sendMail({ envelope: { from: '', to: [to] }, raw });
    return { response: info.response };
  } finally {
    transport.close();
  }
}

/** Waits until the bounces queue has processed every message the inbound listener stored. */
export async function inboundSettled(ctx: TestContext): Promise<void> {
  await eventually(async () => {
    const { rows } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM inbound_mail WHERE processed_at IS NULL',
    );
    return rows[0]!.n === 0;
  });
}

/** Sends mail with a real sender (not a bounce) over a real SMTP connection. */
export async function mailFrom(
  port: number,
  from: string,
  to: string,
  raw: Buffer,
  tls?: { require: boolean },
): Promise<{ response: string }> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ...(tls?.require ? { requireTLS: true, tls: { rejectUnauthorized: false } } : { ignoreTLS: true }),
  });
  try {
    const info = await transport.sendMail({ envelope: { from, to: [to] }, raw });
    return { response: info.response };
  } finally {
    transport.close();
  }
}
