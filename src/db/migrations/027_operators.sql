-- The operator console (issue 17): who may sign in at /admin, and the consent events the
-- console's reader actions record.
CREATE TABLE operators (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  -- lower-cased: one operator per mailbox whatever the case typed at sign-in
  email_key text NOT NULL UNIQUE,
  -- scrypt$N$r$p$<salt>$<hash> (base64url), a fresh random salt per operator
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'editor')),
  -- wrong passwords since first_failed_at; SIGNIN_MAX_FAILURES within the window sets locked_until
  failed_attempts integer NOT NULL DEFAULT 0,
  first_failed_at timestamptz,
  locked_until timestamptz,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  last_sign_in_at timestamptz,
  -- sign-out: console sessions issued before this are refused (the session lives in the cookie,
  -- so ending it on the server is this mark; it ends the operator's sessions on every device)
  signed_out_at timestamptz
);

-- Operator actions on a reader, kept as evidence beside the reader's own:
-- - 'suppression_lifted': an operator took an address off the block list;
-- - 'confirmation_resent': an operator sent a pending reader a fresh confirmation link.
-- A manual confirmation is a 'confirmed' event with source 'operator' and the recorded reason.
-- (Merging with other migrations that extend this list: the last one must name every event.)
ALTER TABLE consent_events DROP CONSTRAINT consent_events_event_check;
ALTER TABLE consent_events ADD CONSTRAINT consent_events_event_check
  CHECK (event IN ('subscribe_requested', 'confirmed', 'preferences_changed', 'unsubscribed', 'suppressed',
                   'resubscribed', 'suppression_lifted', 'confirmation_resent'));
