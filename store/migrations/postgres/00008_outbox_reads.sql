-- The email outbox keeps attachments by name, never their files: an
-- invoice's statement PDF is rendered by the send job when the email is
-- sent. Existing rows lose their stored PDF (base64 "data") and name their
-- invoice instead ("INV-2026-000001.pdf" attaches INV-2026-000001), so a
-- queued one is rendered when it is sent. PostgreSQL dialect, as 00001.

-- +goose Up
UPDATE emails SET attachments = (
    SELECT coalesce(jsonb_agg((j.value - 'data') ||
        jsonb_build_object('invoice', regexp_replace(j.value ->> 'filename', '\.pdf$', '')) ORDER BY j.n), '[]'::jsonb)::text
    FROM jsonb_array_elements(emails.attachments::jsonb) WITH ORDINALITY AS j (value, n))
WHERE attachments <> '[]';

-- +goose Down
-- The PDFs are not restored: they are rendered when an email is sent.
SELECT 1;
