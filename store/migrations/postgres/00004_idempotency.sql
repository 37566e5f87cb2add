-- +goose Up
-- The first response to each request sent with an Idempotency-Key, per
-- caller (scope: a hash of the API key), kept for a day.
CREATE TABLE idempotency_keys (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    done            boolean     NOT NULL DEFAULT false,
    response_status integer     NOT NULL DEFAULT 0,
    content_type    text        NOT NULL DEFAULT '',
    body            bytea,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
