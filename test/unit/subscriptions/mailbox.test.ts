import { describe, expect, it } from 'vitest';
import { mailboxOf } from '../../../src/subscriptions/budgets.js';

describe('mailboxOf', () => {
  it.each([
    ['victim@example.com', 'victim@example.com'],
    ['Victim+news@Example.com', 'victim@example.com'],
    ['v.i.c.t.i.m+1@gmail.com', 'victim@gmail.com'],
    ['Vic.Tim+x+y@googlemail.com', 'victim@gmail.com'],
    // dots matter outside Gmail; a leading plus is not a tag
    ['first.last+a@example.org', 'first.last@example.org'],
    ['+only@example.org', '+only@example.org'],
  ])('%s is the mailbox %s', (address, mailbox) => {
    expect(mailboxOf(address).mailbox).toBe(mailbox);
  });

  it('names the recipient domain, Gmail folded', () => {
    expect(mailboxOf('a@googlemail.com').domain).toBe('gmail.com');
    expect(mailboxOf('a@xn--mgbh0fb.xn--kgbechtv').domain).toBe('xn--mgbh0fb.xn--kgbechtv');
  });
});
