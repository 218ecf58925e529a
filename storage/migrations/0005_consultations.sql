-- Public consultations (Musrenbang, hearings): registrations with short codes and a waiting list,
-- attendance, proposals (usulan) with stages and supporters, and the posted outcome.

CREATE TABLE consultations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    level TEXT NOT NULL CHECK (level IN ('desa', 'kecamatan', 'kabupaten')),
    kecamatan_code TEXT REFERENCES kecamatan(code),   -- NULL for kabupaten level
    desa_code TEXT REFERENCES desa(code),             -- set for desa level only
    place TEXT,                                       -- address, or NULL when online only
    latitude REAL,
    longitude REAL,
    online_url TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    capacity INTEGER CHECK (capacity IS NULL OR capacity > 0),
    proposals_open INTEGER NOT NULL DEFAULT 1,
    outcome TEXT,
    outcome_at TEXT,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (level = 'kabupaten' OR kecamatan_code IS NOT NULL),
    CHECK (level <> 'desa' OR desa_code IS NOT NULL)
);
CREATE INDEX consultations_time ON consultations(ends_at, starts_at);

CREATE TABLE consultation_registrations (
    id INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,                        -- what the citizen types at the door: HADIR <code>
    state TEXT NOT NULL CHECK (state IN ('registered', 'waiting', 'cancelled')),
    queued_at TEXT NOT NULL,                          -- place in the waiting list (and when registered)
    attended_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (consultation_id, user_id)
);
CREATE INDEX registrations_consultation ON consultation_registrations(consultation_id, state, queued_at);
CREATE INDEX registrations_user ON consultation_registrations(user_id);

CREATE TABLE proposals (
    id INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations(id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,   -- the proposer; kept anonymous after deletion
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    location TEXT NOT NULL,
    latitude REAL,
    longitude REAL,
    category TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'proposed'
        CHECK (stage IN ('proposed', 'desa', 'kecamatan', 'kabupaten', 'planned', 'not_prioritised')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX proposals_consultation ON proposals(consultation_id);

CREATE TABLE proposal_supporters (
    proposal_id INTEGER NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (proposal_id, user_id)
) WITHOUT ROWID;
CREATE INDEX proposal_supporters_user ON proposal_supporters(user_id);

CREATE TABLE proposal_stages (
    id INTEGER PRIMARY KEY,
    proposal_id INTEGER NOT NULL REFERENCES proposals(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    note TEXT,
    official_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    at TEXT NOT NULL
);
CREATE INDEX proposal_stages_proposal ON proposal_stages(proposal_id, id);
