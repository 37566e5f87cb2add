package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
)

var _ mail.Store = (*DB)(nil)

// QueueEmail puts m in the outbox in the engine's transaction through q (a
// *mail.Service, which queues it for sending or only records it). A nil q
// writes nothing: email is off.
func (tx *Tx) QueueEmail(q mail.Queuer, m *mail.Message) error {
	if q == nil {
		return nil
	}
	return q.QueueTx(tx.ctx, tx.tx, m)
}

func addrsJSON(addrs []string) string {
	if addrs == nil {
		addrs = []string{}
	}
	b, _ := json.Marshal(addrs)
	return string(b)
}

// CreateEmailTx validates m and writes it to the outbox in the caller's
// transaction, with the status the caller chose (queued or recorded).
func (db *DB) CreateEmailTx(ctx context.Context, tx *sql.Tx, m *mail.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.Status != mail.StatusQueued && m.Status != mail.StatusRecorded {
		return billing.Errorf(billing.EINVALID, "A new email is queued or recorded, not %q.", m.Status)
	}
	atts := m.Attachments
	if atts == nil {
		atts = []mail.Attachment{}
	}
	attJSON, err := json.Marshal(atts)
	if err != nil {
		return fmt.Errorf("create email: attachments: %w", err)
	}
	var accountID any
	if m.AccountID != 0 {
		accountID = m.AccountID
	}
	now := db.now()
	err = tx.QueryRowContext(ctx, `
		INSERT INTO emails (account_id, kind, to_addrs, cc_addrs, subject, body_text, body_html, attachments,
			status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
		accountID, m.Kind, addrsJSON(m.To), addrsJSON(m.Cc), m.Subject, m.Text, m.HTML, string(attJSON),
		m.Status, db.timeArg(now)).Scan(&m.ID)
	if err != nil {
		return dbError(err, "create email", "")
	}
	m.CreatedAt, m.UpdatedAt = now, now
	return nil
}

const emailFrom = ` FROM emails e LEFT JOIN accounts a ON a.id = e.account_id`

// emailColumns are a message's columns; attachments are names (JSON:
// filename, content type, invoice), never files.
const emailColumns = `e.id, coalesce(e.account_id, 0), coalesce(a.number, ''), e.kind, e.to_addrs, e.cc_addrs, e.subject,
		e.body_text, e.body_html, e.attachments, e.status, e.attempts, e.last_error, e.sent_at, e.created_at, e.updated_at`

func scanEmail(row interface{ Scan(...any) error }) (*mail.Message, error) {
	var m mail.Message
	var to, cc, atts string
	err := row.Scan(&m.ID, &m.AccountID, &m.AccountNumber, &m.Kind, &to, &cc, &m.Subject, &m.Text, &m.HTML,
		&atts, &m.Status, &m.Attempts, &m.LastError, scanNullTime(&m.SentAt), scanTime(&m.CreatedAt),
		scanTime(&m.UpdatedAt))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return nil, fmt.Errorf("email %d: to: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(cc), &m.Cc); err != nil {
		return nil, fmt.Errorf("email %d: cc: %w", m.ID, err)
	}
	if err := json.Unmarshal([]byte(atts), &m.Attachments); err != nil {
		return nil, fmt.Errorf("email %d: attachments: %w", m.ID, err)
	}
	return &m, nil
}

// FindEmails returns a page of the outbox, newest first, and how many
// messages match.
func (db *DB) FindEmails(ctx context.Context, f mail.Filter) ([]*mail.Message, int, error) {
	limit, offset := pageLimit(f.Limit, f.Offset)
	var a args
	var where []string
	if f.AccountID != nil {
		where = append(where, "e.account_id = "+a.add(*f.AccountID))
	}
	if f.Status != "" {
		where = append(where, "e.status = "+a.add(f.Status))
	}
	if f.Kind != "" {
		where = append(where, "e.kind = "+a.add(f.Kind))
	}
	if to := strings.ToLower(strings.TrimSpace(f.To)); to != "" {
		p := a.add("%" + escapeLike(to) + "%")
		where = append(where, fmt.Sprintf(`(e.to_addrs LIKE %[1]s ESCAPE '\' OR e.cc_addrs LIKE %[1]s ESCAPE '\')`, p))
	}
	from := emailFrom
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	out := []*mail.Message{}
	err := db.inReadTx(ctx, "find emails", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from, a...).Scan(&total); err != nil {
			return dbError(err, "count emails", "")
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+emailColumns+from+` ORDER BY e.id DESC LIMIT `+
			a.add(limit)+` OFFSET `+a.add(offset), a...)
		if err != nil {
			return dbError(err, "find emails", "")
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanEmail(rows)
			if err != nil {
				return dbError(err, "find emails", "")
			}
			out = append(out, m)
		}
		return dbError(rows.Err(), "find emails", "")
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// FindEmailByID returns one message.
func (db *DB) FindEmailByID(ctx context.Context, id int64) (*mail.Message, error) {
	m, err := scanEmail(db.read.QueryRowContext(ctx, `SELECT `+emailColumns+emailFrom+` WHERE e.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, billing.Errorf(billing.ENOTFOUND, "Email %d not found.", id)
	}
	return m, dbError(err, "find email", "")
}

// RecordEmailAttempt moves a message to status, counting an attempt when
// attempted; a message sent is stamped sent_at.
func (db *DB) RecordEmailAttempt(ctx context.Context, id int64, status mail.Status, lastError string, attempted bool) error {
	if !status.Valid() {
		return billing.Errorf(billing.EINVALID, "Unknown email status %q.", status)
	}
	return db.inTx(ctx, "record email attempt", func(tx *sql.Tx, now time.Time) error {
		var sentAt any
		if status == mail.StatusSent {
			sentAt = db.timeArg(now)
		}
		inc := 0
		if attempted {
			inc = 1
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE emails SET status = $1, last_error = $2, attempts = attempts + $3,
				sent_at = coalesce($4, sent_at), updated_at = $5
			WHERE id = $6`,
			status, outboxText(lastError, 2000), inc, sentAt, db.timeArg(now), id)
		if err != nil {
			return dbError(err, "record email attempt", "")
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbError(err, "record email attempt", "")
		} else if n == 0 {
			return billing.Errorf(billing.ENOTFOUND, "Email %d not found.", id)
		}
		return nil
	})
}

// outboxText makes an error from a server storable: valid UTF-8 without NUL
// (which PostgreSQL's text refuses), at most max bytes.
func outboxText(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
