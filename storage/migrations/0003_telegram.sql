-- Telegram: button payloads too long for callback_data (64 bytes) travel as a short key.

CREATE TABLE telegram_callback_keys (
    key TEXT PRIMARY KEY,               -- what the button carries, e.g. '~Yl3Qm…' (a hash of the payload)
    payload TEXT NOT NULL,              -- the option's full payload
    last_used_at TEXT NOT NULL          -- last time a message offered it; old keys are purged
) WITHOUT ROWID;
CREATE INDEX telegram_callback_keys_used ON telegram_callback_keys(last_used_at);
