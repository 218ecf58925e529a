-- Laporan (citizen reports): units and categories officials can edit, local holidays, the per-year
-- ticket counter, reports with their photos, history, supporters and ratings.

CREATE TABLE report_units (
    code TEXT PRIMARY KEY,              -- short name used by staff, e.g. DPUPKP
    name_id TEXT NOT NULL,
    name_en TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE report_categories (
    code TEXT PRIMARY KEY,
    name_id TEXT NOT NULL,
    name_en TEXT NOT NULL,
    default_unit_code TEXT REFERENCES report_units(code),  -- new reports start assigned to it
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE report_unit_members (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    unit_code TEXT NOT NULL REFERENCES report_units(code)
);
CREATE INDEX report_unit_members_unit ON report_unit_members(unit_code);

CREATE TABLE local_holidays (
    day TEXT PRIMARY KEY,               -- YYYY-MM-DD in the district's calendar
    name TEXT NOT NULL
);

CREATE TABLE report_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,        -- LPR-2026-000123
    reporter_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    privacy TEXT NOT NULL CHECK (privacy IN ('biasa', 'rahasia', 'anonim')),
    access_code_hash TEXT,              -- anonymous reports only: sha256 of the check code told once
    category_code TEXT NOT NULL REFERENCES report_categories(code),
    description TEXT NOT NULL,
    kecamatan_code TEXT NOT NULL REFERENCES kecamatan(code),
    desa_code TEXT NOT NULL REFERENCES desa(code),
    landmark TEXT,
    latitude REAL,
    longitude REAL,
    status TEXT NOT NULL DEFAULT 'baru' CHECK (status IN
        ('baru', 'diverifikasi', 'diproses', 'selesai', 'ditolak', 'bukan_kewenangan', 'ditutup')),
    unit_code TEXT REFERENCES report_units(code),
    reopen_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    verify_due_at TEXT NOT NULL,        -- end of the 3rd working day after submission
    verified_at TEXT,
    followup_due_at TEXT,               -- end of the 5th working day after verification (or reopening)
    followed_up_at TEXT,
    resolved_at TEXT,                   -- last time it was answered 'selesai'
    autoclose_at TEXT,                  -- end of the 10th working day after 'selesai'
    closed_at TEXT,
    CHECK (privacy <> 'anonim' OR reporter_user_id IS NULL)
);
CREATE INDEX reports_status ON reports(status, category_code);
CREATE INDEX reports_reporter ON reports(reporter_user_id);
CREATE INDEX reports_area ON reports(kecamatan_code, desa_code);
CREATE INDEX reports_created ON reports(created_at);
CREATE INDEX reports_position ON reports(latitude, longitude);

CREATE TABLE report_photos (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    path TEXT NOT NULL                  -- a file the channel saved in the media folder
);
CREATE INDEX report_photos_report ON report_photos(report_id);

CREATE TABLE report_history (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- NULL: the system or an anonymous reporter
    event TEXT NOT NULL CHECK (event IN ('created', 'status', 'assigned', 'reopened', 'closed', 'rated')),
    status TEXT,                        -- the status after the event
    unit_code TEXT,
    note TEXT                           -- the official's note to the citizen, or the citizen's reason
);
CREATE INDEX report_history_report ON report_history(report_id, id);

CREATE TABLE report_supporters (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (report_id, user_id)
) WITHOUT ROWID;
CREATE INDEX report_supporters_user ON report_supporters(user_id);

CREATE TABLE report_ratings (
    report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    round INTEGER NOT NULL,             -- reopen_count when it was rated: one rating per resolution
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    rated_at TEXT NOT NULL,
    PRIMARY KEY (report_id, round)
) WITHOUT ROWID;

INSERT INTO report_units (code, name_id, name_en, position) VALUES
    ('DPUPKP', 'Dinas Pekerjaan Umum, Perumahan dan Kawasan Permukiman',
     'Public Works, Housing and Settlements Office', 1),
    ('DLH', 'Dinas Lingkungan Hidup', 'Environment Office', 2),
    ('DISHUB', 'Dinas Perhubungan', 'Transport Office', 3),
    ('PDAM', 'Perumda Air Minum Tirta Sembada', 'Tirta Sembada Water Utility', 4),
    ('DINKES', 'Dinas Kesehatan', 'Health Office', 5),
    ('DISDIK', 'Dinas Pendidikan', 'Education Office', 6),
    ('SATPOLPP', 'Satuan Polisi Pamong Praja', 'Public Order Agency (Satpol PP)', 7),
    ('BPBD', 'Badan Penanggulangan Bencana Daerah', 'Regional Disaster Management Agency', 8),
    ('DISDUKCAPIL', 'Dinas Kependudukan dan Pencatatan Sipil', 'Population and Civil Registry Office', 9),
    ('DINSOS', 'Dinas Sosial', 'Social Affairs Office', 10),
    ('DISKOMINFO', 'Dinas Komunikasi dan Informatika', 'Communication and Informatics Office', 11);

INSERT INTO report_categories (code, name_id, name_en, default_unit_code, position) VALUES
    ('jalan', 'Jalan & jembatan', 'Roads & bridges', 'DPUPKP', 1),
    ('sampah', 'Sampah & kebersihan', 'Waste & cleanliness', 'DLH', 2),
    ('air', 'Air bersih', 'Clean water', 'PDAM', 3),
    ('listrik', 'Listrik & penerangan jalan', 'Electricity & street lighting', 'DISHUB', 4),
    ('kesehatan', 'Kesehatan', 'Health', 'DINKES', 5),
    ('pendidikan', 'Pendidikan', 'Education', 'DISDIK', 6),
    ('keamanan', 'Keamanan & ketertiban', 'Safety & public order', 'SATPOLPP', 7),
    ('bencana', 'Bencana', 'Disasters', 'BPBD', 8),
    ('administrasi', 'Layanan administrasi', 'Administrative services', 'DISDUKCAPIL', 9),
    ('lainnya', 'Lainnya', 'Other', NULL, 10);
