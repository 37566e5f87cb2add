package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
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
		pdf := []byte{0x25, 0x50, 0x44, 0x46, 0x00, 0xff}
		invoice := &mail.Message{AccountID: a.ID, Kind: mail.KindInvoiceIssued, To: []string{"Billing@Acme.example.com"},
			Cc: []string{"ap@acme.example.com"}, Subject: "Invoice INV-2026-000001: $10.00", Text: "Hello", HTML: "<p>Hello</p>",
			Attachments: []mail.Attachment{{Filename: "INV-2026-000001.pdf", ContentType: "application/pdf", Data: pdf}},
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
			len(got.Attachments) != 1 || string(got.Attachments[0].Data) != string(pdf) || got.SentAt != nil {
			t.Errorf("email = %+v", got)
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
				if len(m.Attachments) != 0 {
					t.Errorf("a list carries attachments")
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
