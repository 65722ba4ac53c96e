-- An import row's send hour, weekly day and alerts (the columns Gazette's own export writes), so an
-- export imports back as it is. NULL: the column was absent or empty in the file, and the reader
-- gets the default (the publication's send hour, its weekly day, no alerts).
ALTER TABLE import_rows
  ADD COLUMN send_hour smallint CHECK (send_hour BETWEEN 0 AND 23),
  ADD COLUMN weekly_day smallint CHECK (weekly_day BETWEEN 0 AND 6),
  ADD COLUMN alerts boolean;
