-- Broadcasts (pengumuman), quick polls (jajak pendapat) and their votes.
-- Roles need no table: users.role and users.official_kecamatan_code exist since 0001.

CREATE TABLE broadcasts (
    id INTEGER PRIMARY KEY,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    text_id TEXT NOT NULL,              -- Indonesian text (required)
    text_en TEXT,                       -- English text for users who chose English (optional)
    photo_path TEXT,                    -- a photo in the media folder (optional)
    audience TEXT NOT NULL,             -- JSON {"kind": "everyone|kecamatan|desa|programme|channel|language", "value": …}
    state TEXT NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'sending', 'cancelled')),
    scheduled_at TEXT,                  -- UTC; NULL when sent at once
    started_at TEXT,                    -- when the outbox rows were written
    cancelled_at TEXT,
    recipients INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX broadcasts_due ON broadcasts(state, scheduled_at);

CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    question TEXT NOT NULL,
    audience TEXT NOT NULL,             -- JSON, as for broadcasts
    results_public INTEGER NOT NULL DEFAULT 1,
    closes_at TEXT,                     -- UTC; NULL when an official closes it by hand
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    recipients INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    results_shared_at TEXT              -- when respondents were sent their village's results
);
CREATE INDEX polls_due ON polls(state, closes_at);

CREATE TABLE poll_options (
    poll_id INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,          -- 1-based, as in the payload poll:<id>:<position>
    label TEXT NOT NULL,
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;

CREATE TABLE poll_votes (
    poll_id INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- NULL after the person deleted their data: the count stays
    position INTEGER NOT NULL,
    previous_position INTEGER,          -- the answer before the last change (NULL until changed)
    desa_code TEXT,                     -- the voter's desa when they voted, for results per area
    voted_at TEXT NOT NULL,
    changed_at TEXT,
    UNIQUE (poll_id, user_id),
    FOREIGN KEY (poll_id, position) REFERENCES poll_options(poll_id, position)
);
CREATE INDEX poll_votes_tally ON poll_votes(poll_id, desa_code, position);
