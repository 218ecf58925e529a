-- Every timed job is a row: the scheduler arms one APScheduler job per pending row, and claims the
-- row in the same transaction that queues its message, so a reminder is never sent twice.

CREATE TABLE reminders (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                               -- consultation_h1, consultation_2h, broadcast, poll_close, …
    target TEXT NOT NULL,                             -- what it is about, e.g. a registration id
    due_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'skipped', 'cancelled', 'failed')),
    created_at TEXT NOT NULL,
    done_at TEXT,
    note TEXT,                                        -- why it was skipped or failed
    UNIQUE (kind, target)
);
CREATE INDEX reminders_due ON reminders(state, due_at);
