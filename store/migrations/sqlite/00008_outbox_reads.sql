-- The email outbox keeps attachments by name, never their files: an
-- invoice's statement PDF is rendered by the send job when the email is
-- sent. Existing rows lose their stored PDF (base64 "data") and name their
-- invoice instead ("INV-2026-000001.pdf" attaches INV-2026-000001), so a
-- queued one is rendered when it is sent. SQLite dialect, as 00001.

-- +goose Up
UPDATE emails SET attachments = (
    SELECT json_group_array(json_set(json_remove(j.value, '$.data'), '$.invoice',
        CASE WHEN json_extract(j.value, '$.filename') LIKE '%.pdf'
             THEN substr(json_extract(j.value, '$.filename'), 1, length(json_extract(j.value, '$.filename')) - 4)
             ELSE json_extract(j.value, '$.filename') END))
    FROM (SELECT value FROM json_each(emails.attachments) ORDER BY key) AS j)
WHERE attachments <> '[]';

-- +goose Down
-- The PDFs are not restored: they are rendered when an email is sent.
SELECT 1;
