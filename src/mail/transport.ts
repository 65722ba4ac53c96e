import { readFileSync } from 'node:fs';
import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config.js';

export interface SentInfo {
  messageId: string;
  response: string;
  accepted: string[];
  rejected: string[];
}

/** The small interface delivery code needs (listmonk's Messenger): send one message. */
export interface Mailer {
  send(message: SendMailOptions): Promise<SentInfo>;
  close(): void;
}

export function smtpUrlFor(config: Config): string {
  return config.SMTP_URL ?? `smtp://127.0.0.1:${config.DEV_SMTP_PORT}`;
}

export function dkimOptions(config: Config): SMTPPool.Options['dkim'] | undefined {
  if (!config.DKIM_DOMAIN || !config.DKIM_SELECTOR) return undefined;
  const privateKey = config.DKIM_PRIVATE_KEY ?? readFileSync(config.DKIM_PRIVATE_KEY_FILE as string, 'utf8');
  return {
    domainName: config.DKIM_DOMAIN,
    keySelector: config.DKIM_SELECTOR,
    privateKey: privateKey.replace(/\\n/g, '\n'),
    // nodemailer's default list has List-Unsubscribe and List-Id but not these two; the option
    // replaces the list, so it is spelled out in full.
    headerFieldNames:
      'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:List-Subscribe:List-Post:List-Owner:List-Archive:List-Unsubscribe-Post:Feedback-ID',
  };
}

/** A pooled nodemailer transport: SMTP_URL, or the embedded development mailbox. */
export function createMailer(config: Config): Mailer {
  const url = new URL(smtpUrlFor(config));
  const transport: Transporter<SMTPPool.SentMessageInfo> = nodemailer.createTransport({
    url: url.toString(),
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    maxMessages: config.SMTP_MAX_MESSAGES_PER_CONNECTION,
    // nodemailer waits 10 minutes for a silent server by default; a send held that long blocks its
    // batch, and the row ends ambiguous anyway
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    dkim: dkimOptions(config),
  } as SMTPPool.Options);
  return {
    async send(message) {
      const info = await transport.sendMail(message);
      return {
        messageId: info.messageId,
        response: info.response,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
      };
    },
    close: () => transport.close(),
  };
}
