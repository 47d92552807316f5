-- 0002_nda_validity.sql -- how long a signed NDA stays valid, apart from the current
-- state's deadline.
--
-- ndas.expires_at is the moment the NDA's *current* state lapses (a pending request
-- after 30 days, an approved one left unsigned, a signed NDA at the end of its term), so
-- one partial index serves every expiry timer. The term an owner sets when approving
-- ("valid until") must survive until signing, when it becomes the signed NDA's
-- expires_at; it lives here.

ALTER TABLE ndas ADD COLUMN valid_until timestamptz;

-- Finds the latest rejection of a requester for a pitch (the 7-day cooldown check).
CREATE INDEX ndas_pitch_requester_responded_idx ON ndas (pitch_id, requester_id, responded_at DESC)
    WHERE status = 'rejected';
