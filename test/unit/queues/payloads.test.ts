import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parsePayload } from '../../../src/queues/definitions.js';

const EDITION = '0f8b3c2e-9d4a-4b7e-8f21-6a5c3d2e1b0a';

describe('job payloads', () => {
  it('passes a payload that matches its schema, unchanged', () => {
    const data = { editionId: EDITION, batch: 3 };
    expect(parsePayload('send', 'batch', data)).toBe(data);
    expect(parsePayload('alerts', 'send', { editionId: EDITION.toUpperCase(), batch: 0 })).toBeTruthy();
    expect(parsePayload('transactional', 'send', { deliveryId: 42 })).toEqual({ deliveryId: 42 });
    expect(parsePayload('feeds', 'poll', { feedId: 'main' })).toEqual({ feedId: 'main' });
  });

  it.each([
    [
      'send',
      'batch',
      { editionId: 'not-a-uuid', batch: 0 },
      'bad payload for send batch: editionId must be a UUID, got "not-a-uuid"',
    ],
    ['send', 'batch', { editionId: EDITION, batch: -1 }, 'batch must be an integer >= 0, got -1'],
    ['send', 'batch', { editionId: EDITION, batch: 1.5 }, 'batch must be an integer >= 0, got 1.5'],
    ['send', 'batch', { editionId: EDITION }, 'batch must be an integer >= 0, got nothing'],
    ['send', 'batch', null, 'bad payload for send batch: payload Expected object, got null'],
    ['alerts', 'fanout', { articleId: 7 }, 'bad payload for alerts fanout: articleId must be a UUID, got 7'],
    ['article-lifecycle', 'published', {}, 'articleId must be a UUID, got nothing'],
    ['digests', 'build-edition', { editionId: `${EDITION}x` }, 'editionId must be a UUID'],
    ['transactional', 'send', { deliveryId: 0 }, 'deliveryId must be a positive integer, got 0'],
    ['transactional', 'send', { deliveryId: 2 ** 53 }, 'deliveryId must be a positive integer'],
    ['article-events', 'process', { eventId: '12' }, 'eventId must be a positive integer, got "12"'],
    ['feeds', 'poll', {}, 'feedId must be a feed id, got nothing'],
  ] as const)('fails %s %s %j for good, naming the field', (queue, name, data, message) => {
    let thrown: unknown;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: the table pairs each queue with one of its job names
      parsePayload(queue as any, name as any, data);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnrecoverableError);
    expect((thrown as Error).message).toContain(message);
  });
});
