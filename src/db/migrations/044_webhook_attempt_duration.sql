-- How long each webhook attempt took (request sent to answer read, or to the error), for the
-- delivery log in the console and the admin API. NULL for attempts logged before this column.
ALTER TABLE webhook_attempts ADD COLUMN duration_ms integer;
