-- 0001_initial.sql -- initial schema for Pitchey (film/TV pitch marketplace).
--
-- The migration runner wraps this whole file in a single transaction and
-- records it in schema_migrations itself, so there is no BEGIN/COMMIT here
-- and schema_migrations is not created here.
--
-- Targets PostgreSQL 15 through 18 with core features only (no extensions).
-- Conventions: bigint identity primary keys named id, timestamptz timestamps,
-- CHECK constraints instead of ENUM types, snake_case names.
--
-- Counter columns on pitches (view_count, like_count, save_count, nda_count)
-- are maintained by application code, not by triggers, so that nothing is
-- counted twice.


-- ---------------------------------------------------------------------------
-- Shared trigger functions
-- ---------------------------------------------------------------------------

-- Sets updated_at to now() on every UPDATE, unless the statement itself
-- assigned a new value to updated_at.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;

-- Fills pitches.published_at the first time a pitch is saved with
-- status 'published' and no published_at of its own.
CREATE FUNCTION set_pitch_published_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := now();
    END IF;
    RETURN NEW;
END;
$$;


-- ---------------------------------------------------------------------------
-- Accounts and authentication
-- ---------------------------------------------------------------------------

-- Every account on the platform (creators, investors, production companies, admins).
CREATE TABLE users (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                    text        NOT NULL,
    username                 text        NOT NULL,
    password_hash            text        NOT NULL,
    user_type                text        NOT NULL,
    first_name               text,
    last_name                text,
    company_name             text,
    bio                      text,
    location                 text,
    avatar_url               text,
    email_notifications      boolean     NOT NULL DEFAULT true,
    muted_notification_kinds text[]      NOT NULL DEFAULT '{}',
    token_version            integer     NOT NULL DEFAULT 0,
    failed_login_count       integer     NOT NULL DEFAULT 0,
    locked_until             timestamptz,
    last_login_at            timestamptz,
    email_verified_at        timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_user_type_check
        CHECK (user_type IN ('creator', 'investor', 'production', 'admin')),
    CONSTRAINT users_email_check
        CHECK (position('@' IN email) > 1 AND char_length(email) <= 320),
    CONSTRAINT users_username_check
        CHECK (btrim(username) <> '' AND char_length(username) <= 100),
    CONSTRAINT users_token_version_check      CHECK (token_version >= 0),
    CONSTRAINT users_failed_login_count_check CHECK (failed_login_count >= 0)
);

-- Case-insensitive uniqueness of email and username.
CREATE UNIQUE INDEX users_email_lower_key    ON users (lower(email));
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE INDEX users_user_type_idx ON users (user_type);

CREATE TRIGGER users_set_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Refresh tokens (stored only as hashes); tokens rotated from one login share a family_id.
CREATE TABLE refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid        NOT NULL,
    token_hash  bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    user_agent  text,
    ip          text,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);

CREATE INDEX refresh_tokens_user_id_idx   ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);


-- ---------------------------------------------------------------------------
-- Pitches
-- ---------------------------------------------------------------------------

-- Film/TV pitches published by creators, with full-text search over the main text fields.
CREATE TABLE pitches (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id          bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title             text        NOT NULL,
    logline           text        NOT NULL DEFAULT '',
    genre             text,
    format            text,
    budget_range      text,
    short_synopsis    text,
    long_synopsis     text,
    target_audience   text,
    comparable_titles text,
    themes            text,
    characters        jsonb       NOT NULL DEFAULT '[]',
    thumbnail_url     text,
    visibility        text        NOT NULL DEFAULT 'public',
    status            text        NOT NULL DEFAULT 'draft',
    require_nda       boolean     NOT NULL DEFAULT false,
    protected_content jsonb       NOT NULL DEFAULT '{}',
    view_count        integer     NOT NULL DEFAULT 0,
    like_count        integer     NOT NULL DEFAULT 0,
    save_count        integer     NOT NULL DEFAULT 0,
    nda_count         integer     NOT NULL DEFAULT 0,
    version           integer     NOT NULL DEFAULT 1,
    search_vector     tsvector GENERATED ALWAYS AS (
          setweight(to_tsvector('english', coalesce(title, '')), 'A')
       || setweight(to_tsvector('english', coalesce(logline, '')), 'B')
       || setweight(to_tsvector('english',
                coalesce(genre, '') || ' ' || coalesce(short_synopsis, '')), 'C')
       || setweight(to_tsvector('english',
                coalesce(long_synopsis, '') || ' ' || coalesce(themes, '')), 'D')
    ) STORED,
    published_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pitches_visibility_check CHECK (visibility IN ('public', 'private')),
    CONSTRAINT pitches_status_check     CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT pitches_view_count_check CHECK (view_count >= 0),
    CONSTRAINT pitches_like_count_check CHECK (like_count >= 0),
    CONSTRAINT pitches_save_count_check CHECK (save_count >= 0),
    CONSTRAINT pitches_nda_count_check  CHECK (nda_count >= 0),
    CONSTRAINT pitches_version_check    CHECK (version >= 1),
    CONSTRAINT pitches_characters_check
        CHECK (jsonb_typeof(characters) = 'array'),
    CONSTRAINT pitches_protected_content_check
        CHECK (jsonb_typeof(protected_content) = 'object')
);

CREATE INDEX pitches_search_vector_idx      ON pitches USING gin (search_vector);
CREATE INDEX pitches_status_published_idx   ON pitches (status, published_at DESC);
CREATE INDEX pitches_owner_id_idx           ON pitches (owner_id);
CREATE INDEX pitches_published_genre_idx    ON pitches (genre, published_at DESC)
    WHERE status = 'published';
CREATE INDEX pitches_published_format_idx   ON pitches (format, published_at DESC)
    WHERE status = 'published';
CREATE INDEX pitches_status_like_count_idx  ON pitches (status, like_count DESC);
CREATE INDEX pitches_status_view_count_idx  ON pitches (status, view_count DESC);

CREATE TRIGGER pitches_set_updated_at
    BEFORE UPDATE ON pitches
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TRIGGER pitches_set_published_at
    BEFORE INSERT OR UPDATE OF status, published_at ON pitches
    FOR EACH ROW EXECUTE FUNCTION set_pitch_published_at();

-- Users other than the owner who may edit a pitch.
CREATE TABLE pitch_collaborators (
    pitch_id   bigint      NOT NULL REFERENCES pitches (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_by   bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pitch_id, user_id)
);

CREATE INDEX pitch_collaborators_user_id_idx  ON pitch_collaborators (user_id);
CREATE INDEX pitch_collaborators_added_by_idx ON pitch_collaborators (added_by);


-- ---------------------------------------------------------------------------
-- NDAs
-- ---------------------------------------------------------------------------

-- Every NDA from request to signature, expiry or revocation (one row per request).
CREATE TABLE ndas (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pitch_id          bigint      NOT NULL REFERENCES pitches (id) ON DELETE CASCADE,
    requester_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    owner_id          bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status            text        NOT NULL DEFAULT 'pending',
    message           text,
    company_info      jsonb,
    reason            text,
    terms             text,
    document_version  text,
    signer_name       text,
    signer_ip         text,
    signer_user_agent text,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    responded_at      timestamptz,
    signed_at         timestamptz,
    expires_at        timestamptz,
    revoked_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ndas_status_check CHECK (
        status IN ('pending', 'approved', 'rejected', 'signed', 'expired', 'revoked')),
    CONSTRAINT ndas_requester_not_owner_check CHECK (requester_id <> owner_id)
);

-- One active NDA per pitch and requester.
CREATE UNIQUE INDEX ndas_one_active_per_requester_key ON ndas (pitch_id, requester_id)
    WHERE status IN ('pending', 'approved', 'signed');
CREATE INDEX ndas_owner_status_idx     ON ndas (owner_id, status);
CREATE INDEX ndas_requester_status_idx ON ndas (requester_id, status);
CREATE INDEX ndas_pitch_id_idx         ON ndas (pitch_id);
-- Lets expiry timers find the open NDAs that expire next.
CREATE INDEX ndas_open_expires_at_idx  ON ndas (expires_at)
    WHERE status IN ('pending', 'approved', 'signed') AND expires_at IS NOT NULL;

CREATE TRIGGER ndas_set_updated_at
    BEFORE UPDATE ON ndas
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();


-- ---------------------------------------------------------------------------
-- Messaging
-- ---------------------------------------------------------------------------

-- Message threads between users, optionally about a specific pitch.
CREATE TABLE conversations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pitch_id        bigint      REFERENCES pitches (id) ON DELETE SET NULL,
    created_by      bigint      REFERENCES users (id) ON DELETE SET NULL,
    last_message_at timestamptz,
    last_seq        bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT conversations_last_seq_check CHECK (last_seq >= 0)
);

CREATE INDEX conversations_pitch_id_idx   ON conversations (pitch_id);
CREATE INDEX conversations_created_by_idx ON conversations (created_by);

CREATE TRIGGER conversations_set_updated_at
    BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Members of each conversation and how far each has read (by message seq).
CREATE TABLE conversation_participants (
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_read_seq   bigint      NOT NULL DEFAULT 0,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id),
    CONSTRAINT conversation_participants_last_read_seq_check CHECK (last_read_seq >= 0)
);

CREATE INDEX conversation_participants_user_id_idx ON conversation_participants (user_id);

-- Chat messages, keyed by room name ('conversation:12', 'pitch:7') and a per-room sequence number.
CREATE TABLE messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room       text        NOT NULL,
    sender_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text        NOT NULL,
    seq        bigint      NOT NULL,
    client_id  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The index behind this constraint also serves history paging by
    -- (room, seq DESC): a btree is scanned backwards just as cheaply, so a
    -- second, identical index would only slow inserts.
    CONSTRAINT messages_room_seq_key UNIQUE (room, seq),
    CONSTRAINT messages_room_check   CHECK (room <> ''),
    CONSTRAINT messages_seq_check    CHECK (seq > 0)
);

-- Idempotent sends: a client retrying with the same client_id gets no duplicate.
CREATE UNIQUE INDEX messages_room_sender_client_key ON messages (room, sender_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX messages_sender_id_idx ON messages (sender_id);


-- ---------------------------------------------------------------------------
-- Notifications
-- ---------------------------------------------------------------------------

-- In-app notifications for each user (NDA updates, new messages, likes, follows, ...).
CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    title      text        NOT NULL,
    body       text        NOT NULL DEFAULT '',
    data       jsonb       NOT NULL DEFAULT '{}',
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_kind_check CHECK (kind <> '')
);

CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC);
-- Unread notifications per user (badge counts and the newest-first unread list).
CREATE INDEX notifications_user_unread_idx  ON notifications (user_id, created_at DESC)
    WHERE read_at IS NULL;


-- ---------------------------------------------------------------------------
-- Engagement
-- ---------------------------------------------------------------------------

-- Which users liked which pitches.
CREATE TABLE pitch_likes (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pitch_id   bigint      NOT NULL REFERENCES pitches (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, pitch_id)
);

CREATE INDEX pitch_likes_pitch_id_idx ON pitch_likes (pitch_id);

-- Which users saved (bookmarked) which pitches.
CREATE TABLE pitch_saves (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pitch_id   bigint      NOT NULL REFERENCES pitches (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, pitch_id)
);

CREATE INDEX pitch_saves_pitch_id_idx ON pitch_saves (pitch_id);

-- Who follows whom.
CREATE TABLE follows (
    follower_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followed_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followed_id),
    CONSTRAINT follows_not_self_check CHECK (follower_id <> followed_id)
);

CREATE INDEX follows_followed_id_idx ON follows (followed_id);

-- Pitch views, at most one per viewer, pitch and day (anonymous views have viewer_id NULL).
CREATE TABLE pitch_views (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pitch_id   bigint      NOT NULL REFERENCES pitches (id) ON DELETE CASCADE,
    viewer_id  bigint      REFERENCES users (id) ON DELETE SET NULL,
    view_date  date        NOT NULL DEFAULT current_date,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pitch_views_pitch_viewer_date_key UNIQUE (pitch_id, viewer_id, view_date)
);

CREATE INDEX pitch_views_viewer_id_idx ON pitch_views (viewer_id);


-- ---------------------------------------------------------------------------
-- Auditing
-- ---------------------------------------------------------------------------

-- Append-only record of security- and business-relevant actions.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    bigint      REFERENCES users (id) ON DELETE SET NULL,
    action      text        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   bigint,
    details     jsonb       NOT NULL DEFAULT '{}',
    ip          text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_log_entity_idx   ON audit_log (entity_type, entity_id, created_at);
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor_id);
