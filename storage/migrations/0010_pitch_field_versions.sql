-- The pitch version at which each field last changed, so a live edit based on version N
-- can tell which of its fields someone else changed since N (those conflict; the rest
-- apply). Keys are the wire names of the fields (camelCase), values pitch versions.
ALTER TABLE pitches ADD COLUMN field_versions jsonb NOT NULL DEFAULT '{}'
    CHECK (jsonb_typeof(field_versions) = 'object');
