import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

// what `openssl rand -base64 48` gives: the shape of a key the README tells operators to make
const STRONG_KEY = 'n0Qe3xR9Lk2vTz7bWm4pYc8sHf1dGj6uAo5iKq0tZr3wEy7x';
const STRONG_ADMIN = 'Vb8Nz1Kp6Rs3Hd5Fg0JaUYt7Qm2Lw9Xc4eT1';
const production = {
  NODE_ENV: 'production',
  SMTP_URL: 'smtp://relay.example:587',
  PUBLIC_URL: 'https://news.example',
  SECRET_KEY: STRONG_KEY,
  ADMIN_TOKEN: STRONG_ADMIN,
  SESSION_SECRET: 'Qw3eRt5yUi7oP9aS1dF4gH6jK8lZ0xCv2bN',
};

describe('secrets outside development', () => {
  it('starts with strong secrets', () => {
    expect(loadConfig(production).SECRET_KEY).toBe(STRONG_KEY);
  });

  it.each([
    ['SECRET_KEY', 'gazette-development-secret-key-not-for-production', /development value/],
    ['ADMIN_TOKEN', 'gazette-dev-admin-token', /development value/],
    ['ADMIN_TOKEN', 'gazette-dev-admin-token-padded-to-be-long-enough', /development value/],
    ['SECRET_KEY', 'x'.repeat(40), /only 1 distinct characters/],
    ['SECRET_KEY', 'abababababababababababababababababab', /only 2 distinct/],
    ['ADMIN_TOKEN', 'Yt7Qm2Lw9Xc4Vb8Nz1Kp', /is 20 characters/],
    ['SECRET_KEY_PREVIOUS', 'gazette-development-secret-key-not-for-production', /development value/],
    ['METRICS_TOKEN', 'metrics-token-1234', /is 18 characters/],
    ['SESSION_SECRET', 'gazette-development-session-secret-not-for-production', /development value/],
  ])('refuses %s=%s in production with one line naming it', (name, value, reason) => {
    const run = () => loadConfig({ ...production, [name]: value });
    expect(run).toThrow(new RegExp(`^environment variable ${name}: unsafe for NODE_ENV=production: `));
    expect(run).toThrow(reason);
    expect(run).toThrow(/openssl rand -base64 48/);
    expect(() => run()).not.toThrow(/\n/);
  });

  it('refuses production without SESSION_SECRET: the console sessions would use a key printed in the source', () => {
    const { SESSION_SECRET: _, ...without } = production;
    expect(() => loadConfig(without)).toThrow(
      /^environment variable SESSION_SECRET: required when NODE_ENV=production/,
    );
  });

  it('takes the first operator as ADMIN_EMAIL and ADMIN_PASSWORD together, never one alone', () => {
    expect(() => loadConfig({ ADMIN_EMAIL: 'editor@example.com' })).toThrow(/ADMIN_EMAIL and ADMIN_PASSWORD/);
    expect(
      loadConfig({ ADMIN_EMAIL: 'a@example.com', ADMIN_PASSWORD: 'long-enough-password' }).ADMIN_EMAIL,
    ).toBe('a@example.com');
  });

  it('keeps the development defaults in development and test', () => {
    expect(loadConfig({}).ADMIN_TOKEN).toBe('gazette-dev-admin-token');
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEY: 'x'.repeat(40) }).SECRET_KEY).toBe('x'.repeat(40));
  });
});

describe('listening address', () => {
  it('binds 127.0.0.1 in development unless HOST is set', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'development' }).HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });

  it('warns when a development instance with the default admin token listens beyond loopback', () => {
    expect(loadConfig({ HOST: '0.0.0.0' }).warnings.join('\n')).toMatch(/HOST=0\.0\.0\.0 exposes/);
    expect(loadConfig({}).warnings.join('\n')).not.toMatch(/exposes/);
  });

  it('binds every interface in production (containers), or HOST', () => {
    expect(loadConfig(production).HOST).toBe('0.0.0.0');
    expect(loadConfig({ ...production, HOST: '10.0.0.5' }).HOST).toBe('10.0.0.5');
  });
});

describe('bounce configuration', () => {
  it('the inbound listener needs the mail it accepts: a bounce domain or an unsubscribe address', () => {
    expect(() => loadConfig({ INBOUND_SMTP_PORT: '2526' })).toThrow(
      /INBOUND_SMTP_PORT: needs BOUNCE_DOMAIN or LIST_UNSUBSCRIBE_MAILTO/,
    );
    expect(
      loadConfig({ INBOUND_SMTP_PORT: '2526', BOUNCE_DOMAIN: 'bounces.news.example' }).INBOUND_SMTP_PORT,
    ).toBe(2526);
    expect(
      loadConfig({ INBOUND_SMTP_PORT: '2526', LIST_UNSUBSCRIBE_MAILTO: 'unsubscribe@news.example' })
        .INBOUND_SMTP_PORT,
    ).toBe(2526);
  });

  it('the names used before, BOUNCE_SMTP_*, still work with a warning', () => {
    const c = loadConfig({
      BOUNCE_SMTP_PORT: '2527',
      BOUNCE_SMTP_HOST: '0.0.0.0',
      BOUNCE_SMTP_MAX_BYTES: '20480',
      BOUNCE_DOMAIN: 'bounces.news.example',
    });
    expect([c.INBOUND_SMTP_PORT, c.INBOUND_SMTP_HOST, c.INBOUND_SMTP_MAX_BYTES]).toEqual([
      2527,
      '0.0.0.0',
      20480,
    ]);
    expect(c.warnings).toContain('BOUNCE_SMTP_PORT is deprecated: rename it INBOUND_SMTP_PORT');
    // the new name wins when both are set
    expect(
      loadConfig({
        BOUNCE_SMTP_PORT: '2527',
        INBOUND_SMTP_PORT: '2528',
        BOUNCE_DOMAIN: 'bounces.news.example',
      }).INBOUND_SMTP_PORT,
    ).toBe(2528);
  });

  it('STARTTLS needs both certificate files; the unsubscribe address leaves room for the reader', () => {
    expect(() => loadConfig({ INBOUND_SMTP_TLS_CERT_FILE: '/etc/cert.pem' })).toThrow(
      /INBOUND_SMTP_TLS_CERT_FILE: STARTTLS needs/,
    );
    expect(() => loadConfig({ LIST_UNSUBSCRIBE_MAILTO: 'a-very-long-unsubscribe-box@news.example' })).toThrow(
      /LIST_UNSUBSCRIBE_MAILTO: the part before @ must be at most 20 characters/,
    );
    expect(() => loadConfig({ LIST_UNSUBSCRIBE_MAILTO: 'unsub+x@news.example' })).toThrow(/without "\+"/);
  });

  it('production without a bounce domain warns that bounce mail is never processed', () => {
    expect(loadConfig(production).warnings.join('\n')).toMatch(/BOUNCE_DOMAIN is not set/);
    expect(
      loadConfig({ ...production, BOUNCE_DOMAIN: 'bounces.news.example' }).warnings.join('\n'),
    ).not.toMatch(/BOUNCE_DOMAIN/);
  });

  it('refuses Postmark credentials with a short password and a Standard Webhooks secret that is not base64', () => {
    expect(() => loadConfig({ BOUNCE_POSTMARK_CREDENTIALS: 'gazette:short' })).toThrow(
      /BOUNCE_POSTMARK_CREDENTIALS/,
    );
    expect(() => loadConfig({ BOUNCE_WEBHOOK_SECRET: 'whsec_not base64!' })).toThrow(/BOUNCE_WEBHOOK_SECRET/);
  });
});

describe('relay keys are checked at boot', () => {
  it('names a SendGrid verification key that is no public key', () => {
    expect(() => loadConfig({ BOUNCE_SENDGRID_PUBLIC_KEY: 'A'.repeat(40) })).toThrow(
      /^environment variable BOUNCE_SENDGRID_PUBLIC_KEY: /,
    );
  });
});
