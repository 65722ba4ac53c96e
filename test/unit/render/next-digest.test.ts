import { describe, expect, it } from 'vitest';
import { loadPublication } from '../../../src/publication.js';
import { nextDigestText } from '../../../src/render/next-digest.js';

const publication = loadPublication('config/publication.sample.json');
// Sunday 29 November 2026, 13:00 UTC; the sample publication's weekly day is Friday
const now = new Date('2026-11-29T13:00:00Z');
const weekly = { frequency: 'weekly' as const, timezone: 'Asia/Damascus', sendHour: 7 };

describe('the first weekly digest, as the welcome mail and the confirm page say it', () => {
  it("names the reader's own day, in Arabic digits for Arabic", () => {
    expect(nextDigestText(publication, 'ar', { ...weekly, weeklyDay: 2 }, now)).toMatch(
      /^تصلك أول نشرة أسبوعية يوم الثلاثاء، ١ كانون الأول في ٠٧:٠٠/,
    );
    expect(nextDigestText(publication, 'en', { ...weekly, weeklyDay: 2 }, now)).toMatch(
      /^Your first weekly digest arrives on Tuesday 1 December at 07:00/,
    );
  });

  it("falls back to the publication's day when the reader chose none", () => {
    expect(nextDigestText(publication, 'en', { ...weekly, weeklyDay: null }, now)).toMatch(
      /on Friday 4 December at 07:00/,
    );
  });
});
