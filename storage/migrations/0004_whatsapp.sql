-- WhatsApp delivery reports: Twilio's status callbacks update the outbox row they belong to.

ALTER TABLE outbox ADD COLUMN delivery_status TEXT;   -- provider's last status: queued, sent, delivered, read, failed, undelivered
ALTER TABLE outbox ADD COLUMN error_code TEXT;        -- provider's error code with failed/undelivered, e.g. 63016
ALTER TABLE outbox ADD COLUMN delivery_updated_at TEXT;
