-- Webhooks and email. Webhooks: the endpoints an operator configures, the
-- events the engine publishes in the transaction of the change that causes
-- them (an outbox), one delivery per event and endpoint, and every attempt.
-- Email: the outbox of messages to billing contacts, sent by jobs when SMTP
-- is configured and only recorded when it is not.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    event_types TEXT NOT NULL DEFAULT '[]', -- JSON array; empty: every type
    -- Kept as is, not hashed: every delivery is signed with it.
    secret      TEXT NOT NULL,
    disabled_at TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_events (
    id             TEXT    PRIMARY KEY, -- evt_…
    seq            INTEGER NOT NULL,    -- publication order
    type           TEXT    NOT NULL,
    account_number TEXT    NOT NULL DEFAULT '',
    data           TEXT    NOT NULL, -- JSON object, sent byte for byte
    created_at     TEXT    NOT NULL,
    CONSTRAINT webhook_events_seq_key UNIQUE (seq)
) STRICT;
CREATE INDEX webhook_events_type_idx ON webhook_events (type, seq);
CREATE INDEX webhook_events_account_idx ON webhook_events (account_number, seq);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT    NOT NULL REFERENCES webhook_events (id),
    -- NULL once the endpoint is deleted: the log outlives it.
    endpoint_id      INTEGER REFERENCES webhook_endpoints (id) ON DELETE SET NULL,
    status           TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    next_attempt_at  TEXT,
    delivered_at     TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    CONSTRAINT webhook_deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id)
) STRICT;
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (status, id);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    attempt     INTEGER NOT NULL CHECK (attempt > 0),
    at          TEXT    NOT NULL,
    url         TEXT    NOT NULL DEFAULT '',
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0,
    response    TEXT    NOT NULL DEFAULT '',
    CONSTRAINT webhook_attempts_delivery_attempt_key UNIQUE (delivery_id, attempt)
) STRICT;

CREATE TABLE emails (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER REFERENCES accounts (id),
    kind        TEXT    NOT NULL,
    to_addrs    TEXT    NOT NULL, -- JSON array
    cc_addrs    TEXT    NOT NULL DEFAULT '[]',
    subject     TEXT    NOT NULL,
    body_text   TEXT    NOT NULL,
    body_html   TEXT    NOT NULL DEFAULT '',
    attachments TEXT    NOT NULL DEFAULT '[]', -- JSON: filename, content_type, data (base64)
    -- queued: a job will send it; recorded: no SMTP server is configured.
    status      TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'failed', 'recorded')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    sent_at     TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX emails_account_idx ON emails (account_id, id);
CREATE INDEX emails_status_idx ON emails (status, id);

-- +goose Down
DROP TABLE emails;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
