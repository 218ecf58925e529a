-- Users, conversation state, inbound dedupe, administrative areas, outbox, audit log.

CREATE TABLE kecamatan (
    code TEXT PRIMARY KEY,              -- Kemendagri code, e.g. 34.04.08
    name TEXT NOT NULL
);

CREATE TABLE desa (
    code TEXT PRIMARY KEY,              -- Kemendagri code, e.g. 34.04.08.2004
    kecamatan_code TEXT NOT NULL REFERENCES kecamatan(code),
    name TEXT NOT NULL
);
CREATE INDEX desa_kecamatan ON desa(kecamatan_code);

CREATE TABLE settings_kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,              -- telegram | whatsapp | console
    external_id TEXT NOT NULL,          -- Telegram chat id, WhatsApp +62… number, console persona
    display_name TEXT,
    locale TEXT,
    desa_code TEXT REFERENCES desa(code),
    consent_at TEXT,
    opted_out INTEGER NOT NULL DEFAULT 0,
    unreachable INTEGER NOT NULL DEFAULT 0,
    role TEXT NOT NULL DEFAULT 'citizen' CHECK (role IN ('citizen', 'official', 'admin')),
    official_kecamatan_code TEXT REFERENCES kecamatan(code),
    last_inbound_at TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    UNIQUE (channel, external_id)
);
CREATE INDEX users_desa ON users(desa_code);

CREATE TABLE conversations (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    state TEXT,                         -- named step, e.g. 'report.describe'; NULL at the menu
    data TEXT NOT NULL DEFAULT '{}',    -- draft data as JSON
    updated_at TEXT NOT NULL
);

CREATE TABLE inbound_messages (
    channel TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (channel, message_id)
) WITHOUT ROWID;
CREATE INDEX inbound_received ON inbound_messages(received_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- notification kind: report_status, reminder, broadcast, poll, …
    priority INTEGER NOT NULL DEFAULT 5,-- lower goes first; replies 0, notifications 5, bulk 9
    body TEXT NOT NULL,                 -- the Reply list as JSON, already in the recipient's language
    template_vars TEXT,                 -- JSON for a WhatsApp template outside the 24-hour window
    group_id TEXT,                      -- e.g. 'broadcast:12'
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'read', 'failed', 'needs_template', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    last_error TEXT,
    provider_message_id TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(channel, state, priority, not_before, id);
CREATE INDEX outbox_group ON outbox(group_id, state);
CREATE INDEX outbox_provider ON outbox(provider_message_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    user_id INTEGER,
    action TEXT NOT NULL,
    allowed INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_at ON audit_log(at);
