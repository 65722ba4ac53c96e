import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook, webhookHeaders } from '../../src/outbox/signing.js';

describe('Standard Webhooks signatures', () => {
  it('matches the test vector published with the specification', () => {
    // standard-webhooks/standard-webhooks, libraries' shared test vector
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sig = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies with the reference library, with either secret during a rotation, and not once tampered', () => {
    const [a, b] = [newWebhookSecret(), newWebhookSecret()];
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'subscriber.confirmed', data: { email: 'قارئ@example.com' } });
    const headers = webhookHeaders([a, b], 'msg_1', ts, body);
    expect(new Webhook(a).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(b).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(a).verify(body.replace('confirmed', 'bounced'), headers)).toThrow();
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });
});
