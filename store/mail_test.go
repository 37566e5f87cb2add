package store_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// queueEmail writes m to the outbox in a committed transaction.
func queueEmail(t *testing.T, db *store.DB, m *mail.Message) error {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.CreateEmailTx(ctx, tx, m); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return nil
}

func TestCreateEmailTx_RoundTripAndFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		a := &billing.Account{Name: "Acme", Domain: "acme.example.com"}
		if err := db.CreateAccount(as("system"), a); err != nil {
			t.Fatal(err)
		}
		att := mail.StatementPDF("INV-2026-000001")
		att.Data = []byte("%PDF-1.4 rendered by the send job, never stored")
		invoice := &mail.Message{AccountID: a.ID, Kind: mail.KindInvoiceIssued, To: []string{"Billing@Acme.example.com"},
			Cc: []string{"ap@acme.example.com"}, Subject: "Invoice INV-2026-000001: $10.00", Text: "Hello", HTML: "<p>Hello</p>",
			Attachments: []mail.Attachment{att},
			Status:      mail.StatusQueued}
		if err := queueEmail(t, db, invoice); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		card := &mail.Message{Kind: mail.KindCardExpiring, To: []string{"ops@kore.test"}, Subject: "Card", Text: "Expires",
			Status: mail.StatusRecorded}
		if err := queueEmail(t, db, card); err != nil {
			t.Fatal(err)
		}
		if invoice.ID == 0 || card.ID <= invoice.ID || invoice.CreatedAt != stored(t0) {
			t.Fatalf("ids %d, %d; created %v", invoice.ID, card.ID, invoice.CreatedAt)
		}

		got, err := db.FindEmailByID(ctx, invoice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountNumber != a.Number || !slices.Equal(got.To, []string{"billing@acme.example.com"}) ||
			!slices.Equal(got.Cc, []string{"ap@acme.example.com"}) || got.HTML != "<p>Hello</p>" || got.Status != mail.StatusQueued ||
			len(got.Attachments) != 1 || got.Attachments[0].Filename != "INV-2026-000001.pdf" ||
			got.Attachments[0].ContentType != "application/pdf" || got.Attachments[0].Invoice != "INV-2026-000001" ||
			got.Attachments[0].Data != nil || got.SentAt != nil {
			t.Errorf("email = %+v", got)
		}
		// The outbox names the statement; its bytes are never stored.
		var raw string
		if err := db.SQL().QueryRowContext(ctx, `SELECT attachments FROM emails WHERE id = $1`, invoice.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "data") || strings.Contains(raw, "PDF") || !strings.Contains(raw, `"invoice":"INV-2026-000001"`) {
			t.Errorf("stored attachments = %s", raw)
		}

		for _, tt := range []struct {
			f    mail.Filter
			want []int64
		}{
			{mail.Filter{}, []int64{card.ID, invoice.ID}},
			{mail.Filter{AccountID: &a.ID}, []int64{invoice.ID}},
			{mail.Filter{Status: mail.StatusRecorded}, []int64{card.ID}},
			{mail.Filter{Kind: mail.KindInvoiceIssued}, []int64{invoice.ID}},
			{mail.Filter{To: "AP@acme"}, []int64{invoice.ID}},
			{mail.Filter{To: "100%_"}, nil},
			{mail.Filter{Limit: 1, Offset: 1}, []int64{invoice.ID}},
		} {
			list, total, err := db.FindEmails(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, m := range list {
				ids = append(ids, m.ID)
				if m.ID == invoice.ID && (len(m.Attachments) != 1 || m.Attachments[0].Filename != "INV-2026-000001.pdf") {
					t.Errorf("the list does not name the attachment: %+v", m.Attachments)
				}
			}
			if !slices.Equal(ids, tt.want) || (tt.f.Limit == 0 && total != len(tt.want)) {
				t.Errorf("%+v: ids %v (total %d), want %v", tt.f, ids, total, tt.want)
			}
		}
		if _, err := db.FindEmailByID(ctx, 999); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown id: %v", err)
		}
	})
}

func TestCreateEmailTx_InvalidWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		for _, m := range []*mail.Message{
			{Kind: mail.KindCardExpiring, To: []string{"a@b.example"}, Subject: "s", Text: "t", Status: mail.StatusSent},
			{Kind: mail.KindCardExpiring, To: []string{"Ada <a@b.example>"}, Subject: "s", Text: "t", Status: mail.StatusQueued},
			{Kind: mail.KindCardExpiring, To: []string{"a@b.example"}, Subject: "s", Text: "t", Status: mail.StatusQueued, AccountID: 999},
		} {
			if err := queueEmail(t, db, m); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("%+v: %v, want EINVALID", m, err)
			}
		}
		if n := count(t, db, "emails"); n != 0 {
			t.Errorf("%d emails written", n)
		}
	})
}

func TestRecordEmailAttempt_CountsAttemptsAndStampsSent(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := context.Background()
		m := &mail.Message{Kind: mail.KindPaymentReceipt, To: []string{"a@b.example"}, Subject: "s", Text: "t", Status: mail.StatusQueued}
		if err := queueEmail(t, db, m); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordEmailAttempt(ctx, m.ID, mail.StatusQueued, "451 try later", true); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if err := db.RecordEmailAttempt(ctx, m.ID, mail.StatusSent, "", true); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindEmailByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != mail.StatusSent || got.Attempts != 2 || got.LastError != "" || got.SentAt == nil ||
			*got.SentAt != stored(clock.Now()) || got.UpdatedAt != stored(clock.Now()) {
			t.Errorf("email = %+v", got)
		}
		if err := db.RecordEmailAttempt(ctx, 999, mail.StatusSent, "", true); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("unknown email: %v", err)
		}
		if err := db.RecordEmailAttempt(ctx, m.ID, "lost", "", true); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("unknown status: %v", err)
		}
	})
}

// Migration 00008: an invoice email queued before it, with its PDF stored as
// base64, keeps the attachment's name, names its invoice so that the send
// job renders it, and loses the bytes.
func TestMigration00008_EmailsKeepTheAttachmentNameNotItsBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := store.Open(ctx, tc.url(t), billing.NewFixedClock(t0), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrateTo(ctx, 7); err != nil {
				t.Fatal(err)
			}
			a := &billing.Account{Name: "Acme", Domain: "acme.example.com"}
			if err := db.CreateAccount(as("system"), a); err != nil {
				t.Fatal(err)
			}
			var id int64
			err = db.SQL().QueryRowContext(ctx, `
				INSERT INTO emails (account_id, kind, to_addrs, subject, body_text, attachments, status, created_at, updated_at)
				VALUES ($1, 'invoice_issued', '["billing@acme.example.com"]', 'Invoice INV-2026-000007: $10.00', 'Hello',
					'[{"filename":"INV-2026-000007.pdf","content_type":"application/pdf","data":"JVBERi0xLjQgc3RhdGVtZW50"}]',
					'queued', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z') RETURNING id`, a.ID).Scan(&id)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var raw string
			if err := db.SQL().QueryRowContext(ctx, `SELECT attachments FROM emails WHERE id = $1`, id).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(raw, "data") || strings.Contains(raw, "JVBER") {
				t.Errorf("attachments after 00008 = %s: the bytes are still stored", raw)
			}
			m, err := db.FindEmailByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].Filename != "INV-2026-000007.pdf" ||
				m.Attachments[0].ContentType != "application/pdf" || m.Attachments[0].Invoice != "INV-2026-000007" {
				t.Errorf("attachments after 00008 = %+v", m.Attachments)
			}
		})
	}
}
