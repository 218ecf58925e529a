-- Programmes citizens follow: subscriptions, published updates (Indonesian, optional English) and
-- the feedback citizens give on each update.

CREATE TABLE programmes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL,                              -- pendidikan, kesehatan, lingkungan, pertanian, sosial, …
    kecamatan_code TEXT REFERENCES kecamatan(code),   -- NULL: the whole kabupaten
    desa_code TEXT REFERENCES desa(code),             -- NULL: the whole kecamatan (or kabupaten)
    active INTEGER NOT NULL DEFAULT 1,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    CHECK (desa_code IS NULL OR kecamatan_code IS NOT NULL)
);
CREATE INDEX programmes_area ON programmes(active, kecamatan_code, desa_code);

CREATE TABLE programme_subscriptions (
    programme_id INTEGER NOT NULL REFERENCES programmes(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (programme_id, user_id)
) WITHOUT ROWID;
CREATE INDEX programme_subscriptions_user ON programme_subscriptions(user_id);

CREATE TABLE programme_updates (
    id INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programmes(id) ON DELETE CASCADE,
    text_id TEXT NOT NULL,                            -- the text as written (Indonesian)
    text_en TEXT,                                     -- optional English version
    photo_path TEXT,
    link TEXT,
    recipients INTEGER NOT NULL DEFAULT 0,
    official_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX programme_updates_programme ON programme_updates(programme_id, id);

CREATE TABLE programme_feedback (
    id INTEGER PRIMARY KEY,
    update_id INTEGER NOT NULL REFERENCES programme_updates(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX programme_feedback_update ON programme_feedback(update_id, id);

-- A consultation may be about a programme (its topic).
ALTER TABLE consultations ADD COLUMN programme_id INTEGER REFERENCES programmes(id) ON DELETE SET NULL;
