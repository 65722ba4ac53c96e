import nodemailer from 'nodemailer';

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
