-- The lead story the editor chose (Ghost featured, WordPress sticky, generic featured/priority):
-- digests lead with featured articles, then by the editor's priority, then breaking, then newest.
ALTER TABLE articles
  ADD COLUMN featured boolean NOT NULL DEFAULT false,
  ADD COLUMN priority integer NOT NULL DEFAULT 0;
