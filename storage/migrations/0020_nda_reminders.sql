-- 0020_nda_reminders.sql -- reminders the NDA workflow has sent, at most one per NDA and kind.
--
-- The workflow actor reminds the pitch owner of a request pending for 3 days
-- ('owner_pending') and the requester of an approved NDA unsigned after 7 days
-- ('requester_unsigned'). The row is inserted in the transaction that writes the
-- reminder's notification; its primary key is what makes a reminder fire once, whichever
-- node fires it and however often the actor restarts.

CREATE TABLE nda_reminders (
    nda_id  bigint      NOT NULL REFERENCES ndas (id) ON DELETE CASCADE,
    kind    text        NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (nda_id, kind),
    CONSTRAINT nda_reminders_kind_check CHECK (kind IN ('owner_pending', 'requester_unsigned'))
);
