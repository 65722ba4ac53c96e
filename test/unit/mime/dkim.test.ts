import { generateKeyPairSync } from 'node:crypto';
import { authenticate } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import {
  createDkimSigner,
  DkimError,
  dkimKeyFrom,
  parseDkimKey,
  relaxedBody,
} from '../../../src/mail/dkim.js';
import { buildMessage, prepareEditionMessage } from '../../../src/mail/mime/index.js';
import { createMailer, type Mailer } from '../../../src/mail/transport.js';
import { dkimTestKey } from '../../helpers/delivery-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../../helpers/smtp-sink.js';

const key = dkimTestKey();
const signerKey = {
  domain: key.env.DKIM_DOMAIN,
  selector: key.env.DKIM_SELECTOR,
  privateKey: key.env.DKIM_PRIVATE_KEY,
};

async function verify(raw: Buffer) {
  const result = await authenticate(raw, {
    ip: '127.0.0.1',
    helo: 'localhost',
    sender: 'news@almadar.example',
    mta: 'mx.test',
    resolver: key.resolver,
    disableArc: true,
    disableBimi: true,
  });
  return result.dkim.results;
}

/** An Arabic digest as buildMessage makes it, with what relaxed canonicalization changes in it. */
function arabicMessage(text = 'مرحبا  {{greeting_name}}\t،\nنشرة اليوم   \n\n\n') {
  const prepared = prepareEditionMessage({
    from: { name: 'المدار', address: 'news@almadar.example' },
    subject: 'نشرة المدار اليومية: ٣ أخبار عاجلة وتحليل طويل جدا يتجاوز سطرا واحدا في الترويسة',
    html: '<p dir="rtl">مرحبا {{greeting_name}}</p>\n<a href="{{unsubscribe_url}}">إلغاء</a>',
    text,
    headers: {
      'List-Id': 'Al-Madar Daily <daily-ar.almadar.example>',
      'Feedback-ID': 'ed-1:digest:daily-ar:gazette',
    },
    language: 'ar',
  });
  return buildMessage(prepared, {
    to: { name: 'سلمى', address: 'salma@example.org' },
    messageId: '<ed-1.r-1@almadar.example>',
    date: new Date('2026-11-29T05:00:00Z'),
    values: {
      greeting_name: 'سلمى',
      preferences_url: 'https://almadar.example/p/1',
      unsubscribe_url: 'https://almadar.example/u/1',
      archive_url: 'https://almadar.example/a/1',
    },
    extraHeaders: {
      'List-Unsubscribe': '<https://almadar.example/u/1>, <mailto:unsubscribe@almadar.example?subject=u-1>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  });
}

describe('DKIM signer for raw messages', () => {
  const signer = createDkimSigner(signerKey, { now: () => new Date('2026-11-29T05:00:00Z') });

  it('signs what a receiver verifies, covering the list and feedback headers', async () => {
    const signed = await signer.sign(arabicMessage());
    const [result] = await verify(signed);
    expect(result?.status.result, result?.info).toBe('pass');
    expect(result?.signingDomain).toBe('almadar.example');
    const header = signed.toString('latin1', 0, signed.indexOf('\r\n\r\n'));
    const field = /^DKIM-Signature:(.*?)\r\n(?=\S)/ms.exec(header)?.[1] ?? '';
    const h = /\bh=([^;]+)/.exec(field)?.[1]?.replace(/\s+/g, '').toLowerCase().split(':');
    expect(h).toEqual([
      'from',
      'subject',
      'date',
      'message-id',
      'to',
      'mime-version',
      'content-type',
      'list-id',
      'list-unsubscribe',
      'list-unsubscribe-post',
      'feedback-id',
    ]);
    expect(field).toContain('a=rsa-sha256;');
    expect(field).toContain('c=relaxed/relaxed;');
    expect(field).toContain(`t=${Date.parse('2026-11-29T05:00:00Z') / 1000};`);
    // folded, never past 78 characters, and folded only where RFC 6376 allows whitespace
    for (const line of header.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(field).toMatch(/ d=almadar\.example;\s+s=gz2026;/);
  });

  it('is broken by a changed body byte or a changed signed header, as it must be', async () => {
    const signed = await signer.sign(arabicMessage());
    const body = signed.indexOf('\r\n\r\n') + 200;
    const tampered = Buffer.from(signed);
    tampered[body] = tampered[body] === 0x41 ? 0x42 : 0x41;
    // mailauth reports a body hash mismatch as neutral with that comment (RFC 8601 leaves it open)
    const [body1] = await verify(tampered);
    expect(body1?.status.result).toBe('neutral');
    expect(body1?.status.comment).toMatch(/body hash did not verify/);
    const subject = Buffer.from(
      signed.toString('latin1').replace('\r\nSubject: ', '\r\nSubject: X'),
      'latin1',
    );
    expect((await verify(subject))[0]?.status.result).toBe('fail');
  });

  it('survives what relaxed canonicalization allows a relay to change', async () => {
    const signed = (await signer.sign(arabicMessage())).toString('latin1');
    const split = signed.indexOf('\r\n\r\n');
    // a relay that re-folds a header and pads body whitespace and adds empty lines at the end
    const relayed = `${signed.slice(0, split).replace('\r\nSubject: ', '\r\nSubject:   ')}${signed
      .slice(split)
      .replace(/ /g, '  ')}\r\n\r\n`;
    expect((await verify(Buffer.from(relayed, 'latin1')))[0]?.status.result).toBe('pass');
  });

  it('canonicalizes bodies as RFC 6376 §3.4.6 shows', () => {
    expect(relaxedBody(' C \r\nD \t E\r\n\r\n\r\n')).toBe(' C\r\nD E\r\n');
    expect(relaxedBody('')).toBe('');
    expect(relaxedBody('\r\n\r\n')).toBe('');
    expect(relaxedBody('no newline')).toBe('no newline\r\n');
  });

  it('refuses a message whose bare newlines the SMTP client would rewrite', async () => {
    const raw = Buffer.from('From: a@almadar.example\r\nSubject: x\r\n\r\nline one\nline two\r\n');
    await expect(signer.sign(raw)).rejects.toBeInstanceOf(DkimError);
    await expect(signer.sign(Buffer.from('From: a@almadar.example\r\n'))).rejects.toBeInstanceOf(DkimError);
  });

  it('names the variable when the key is not a usable RSA key', () => {
    const bad = (privateKey: string) => () => parseDkimKey({ ...signerKey, privateKey });
    expect(bad('not a key')).toThrow(ConfigError);
    expect(bad('not a key')).toThrow(/DKIM_PRIVATE_KEY: not a PEM private key/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(bad(ed)).toThrow(/DKIM_PRIVATE_KEY: DKIM needs an RSA key/);
    const small = generateKeyPairSync('rsa', { modulusLength: 512 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    expect(bad(small)).toThrow(/RSA key of 512 bits/);
    const config = loadConfig({
      NODE_ENV: 'test',
      DKIM_DOMAIN: 'almadar.example',
      DKIM_SELECTOR: 'gz',
      DKIM_PRIVATE_KEY_FILE: '/nonexistent/dkim.pem',
    });
    expect(() => dkimKeyFrom(config)).toThrow(/DKIM_PRIVATE_KEY_FILE: cannot read it/);
  });
});

describe('Mailer: one signature on every message, whoever composes it', () => {
  let sink: SmtpSink;
  let mailer: Mailer;
  beforeAll(async () => {
    sink = await startSmtpSink();
    mailer = createMailer(loadConfig({ NODE_ENV: 'test', SMTP_URL: sink.url, ...key.env }));
  });
  afterAll(async () => {
    mailer?.close();
    await sink?.close();
  });

  it('signs raw messages with dkim.ts and composed ones with nodemailer, once each', async () => {
    const info = await mailer.sendRaw({
      envelope: { from: 'news@almadar.example', to: ['salma@example.org'] },
      raw: arabicMessage(),
      messageId: '<ed-1.r-1@almadar.example>',
    });
    // nodemailer reports the message's own id (and adds no header of its own to a raw message)
    expect(info.messageId).toBe('<ed-1.r-1@almadar.example>');
    await mailer.send({
      from: 'news@almadar.example',
      to: 'salma@example.org',
      subject: 'تأكيد الاشتراك',
      text: 'اضغط الرابط لتأكيد اشتراكك',
      list: { unsubscribe: 'https://almadar.example/u/1' },
    });
    const mails = await sink.waitFor(2);
    expect(
      mails[0]!.raw.toString('latin1').match(/^Message-ID: <ed-1\.r-1@almadar\.example>\r$/gim),
    ).toHaveLength(1);
    for (const mail of mails) {
      const header = mail.raw.toString('latin1', 0, mail.raw.indexOf('\r\n\r\n'));
      expect(header.match(/^DKIM-Signature:/gim)).toHaveLength(1);
      const [result] = await verify(mail.raw);
      expect(result?.status.result, result?.info).toBe('pass');
    }
  });
});
