-- A weekly reader's own day (issue 18): 0 = Sunday ... 6 = Saturday, the numbering of the
-- publication file's digest.weeklyDay. NULL means "the publication's weekly day", so readers who
-- never chose one follow the publisher when it moves its weekly edition.
ALTER TABLE subscribers ADD COLUMN weekly_day smallint CHECK (weekly_day BETWEEN 0 AND 6);
