-- The complaint-rate guard (issue 16, src/bounces/complaint-guard.ts). One row: from when the rate
-- is measured (an operator's resume after a complaint pause starts a fresh measurement), and
-- whether the guard has alerted or paused since then, so every process raises each only once.
CREATE TABLE complaint_guard (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  -- complaints and sent mail count from the later of this and the start of the window
  measured_from timestamptz,
  alerted_at timestamptz,
  paused_at timestamptz,
  -- the figures that paused sending, kept for the operator beside the pause reason
  paused_complaints integer,
  paused_sent integer,
  -- who resumed after the last complaint pause, and why
  resumed_at timestamptz,
  resumed_by text
);
INSERT INTO complaint_guard (id) VALUES (true);
-- the rate's denominator: messages sent within the window
CREATE INDEX deliveries_sent_at_idx ON deliveries (sent_at) WHERE sent_at IS NOT NULL;
-- the rate's numerator: complaints received within the window
CREATE INDEX bounce_events_complaint_idx ON bounce_events (received_at) WHERE class = 'complaint';
