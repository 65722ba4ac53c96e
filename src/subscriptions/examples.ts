/**
 * Examples of the subscription schemas for /docs (an Arabic reader), written to be copied;
 * test/integration/openapi-docs.test.ts checks each against the schema it illustrates.
 */

export const subscribeExample = {
  email: 'layla.haddad@example.com',
  name: 'ليلى حداد',
  language: 'ar',
  topics: ['politics', 'economy'],
  frequency: 'weekly',
  weeklyDay: 6,
  sendHour: 8,
  timezone: 'Asia/Damascus',
  alerts: true,
};

export const preferencesExample = {
  topics: ['economy', 'culture'],
  frequency: 'daily',
  sendHour: 7,
  timezone: 'Europe/Berlin',
  language: 'ar',
  alerts: false,
};

export const subscriberExample = {
  id: '5b0d7c1e-8f4a-4c2b-9d3e-2a6f1b7c9e40',
  email: 'layla.haddad@example.com',
  name: 'ليلى حداد',
  status: 'confirmed',
  language: 'ar',
  topics: ['politics', 'economy'],
  frequency: 'weekly',
  alerts: true,
  timezone: 'Asia/Damascus',
  sendHour: 8,
  weeklyDay: 6,
  createdAt: '2026-12-01T09:14:03.000Z',
  confirmedAt: '2026-12-01T09:16:41.000Z',
  unsubscribedAt: null,
  suppressedReason: null,
};

export const suppressExample = { reason: 'The reader asked by phone to receive nothing more' };
