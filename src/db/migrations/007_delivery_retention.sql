-- Bulk delivery bookkeeping. Once retention has deleted part of an edition's ledger, its
-- final_counts are the only complete record and must never be recomputed from what is left.
ALTER TABLE editions ADD COLUMN ledger_pruned_at timestamptz;
