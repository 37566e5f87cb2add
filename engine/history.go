package engine

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// HistoryQuery selects an account's billing history: days From and To
// (inclusive, in the account's time zone), the row types, a page after
// Cursor.
type HistoryQuery struct {
	From, To *billing.Date
	Types    []string // invoice, payment, refund, credit, credit_note; none means all
	Cursor   string   // from the previous page's NextCursor
	Limit    int      // 1–1000; 0 means 50
}

// HistoryEntry is one row of the Billing History.
type HistoryEntry struct {
	Date       billing.Date // in the account's time zone
	At         time.Time
	Type       store.HistoryKind
	ID         int64 // the row's id within its type
	Summary    string
	Statement  string // the invoice or credit note number to link to
	ChargeType string // card, ach_eft, credit_redeem, refund
	// Amount is signed: what the row adds to (invoice, refund) or takes
	// from (payment, credit note) the amount owed; for a credit, how it
	// moved the credit balance (granted positive, used negative).
	Amount             billing.Money
	CreditBalanceAfter billing.Money
}

// HistoryPage is a page of the history, oldest first, and the cursor of
// the next page ("" on the last).
type HistoryPage struct {
	Entries    []HistoryEntry
	NextCursor string
}

// History returns a page of the account's billing history: "the
// chronological list of invoices, payments, refunds, credits and credit
// notes", each with its statement, charge type, signed amount and the
// credit balance after it, in a stable order (time, type, id) that an
// opaque cursor pages through.
func (e *Engine) History(ctx context.Context, accountID int64, q HistoryQuery) (*HistoryPage, error) {
	a, err := e.db.FindAccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	loc := a.Location()
	f := store.HistoryFilter{AccountID: accountID, Limit: q.Limit}
	var v billing.Validation
	if q.Limit < 0 || q.Limit > 1000 {
		v.Add("limit", "A page has 1 to 1000 rows.")
	}
	if q.From != nil {
		t := q.From.Midnight(loc)
		f.From = &t
	}
	if q.To != nil {
		t := q.To.AddDays(1).Midnight(loc)
		f.To = &t
		if q.From != nil && q.To.Before(*q.From) {
			v.Add("to", "The last day is before the first.")
		}
	}
	for _, t := range q.Types {
		for _, part := range strings.Split(t, ",") {
			k := store.HistoryKind(strings.TrimSpace(part))
			if k == "" {
				continue
			}
			if !k.Valid() {
				v.Add("type", "Type %q is not one of invoice, payment, refund, credit, credit_note.", k)
				continue
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	if q.Cursor != "" {
		c, ok := decodeHistoryCursor(q.Cursor)
		if !ok {
			v.Add("cursor", "The cursor is not one a history page returned.")
		}
		f.After = c
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rows, more, err := e.db.FindHistory(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &HistoryPage{Entries: make([]HistoryEntry, 0, len(rows))}
	for _, r := range rows {
		page.Entries = append(page.Entries, HistoryEntry{Date: billing.DateOf(r.At, loc), At: r.At, Type: r.Kind, ID: r.ID,
			Summary: historySummary(r), Statement: r.Statement, ChargeType: r.ChargeType, Amount: r.Amount,
			CreditBalanceAfter: r.CreditAfter})
	}
	if more && len(rows) > 0 {
		last := rows[len(rows)-1]
		page.NextCursor = encodeHistoryCursor(store.HistoryCursor{At: last.At, Kind: last.Kind, ID: last.ID})
	}
	return page, nil
}

// historySummary words a row as the statement list shows it: "Invoice
// INV-2026-000012 — Premium, 3 users", "Payment by Visa •••• 4242".
func historySummary(r *store.HistoryRow) string {
	switch r.Kind {
	case store.HistoryInvoice:
		what, _, _ := strings.Cut(r.Detail, " × ")
		what = strings.Replace(what, " — ", ", ", 1)
		s := "Invoice " + r.Statement
		if what != "" {
			s += " — " + what
		}
		return s
	case store.HistoryCreditNote:
		s := "Credit note " + r.Statement
		if r.Detail != "" {
			s += " for " + r.Detail
		}
		return s
	case store.HistoryPayment:
		if r.ChargeType == string(billing.InvoicePaymentACH) {
			s := "Payment by " + strings.Replace(r.Detail, "Bank transfer", "bank transfer", 1)
			if r.Extra != "" {
				s += ", reference " + r.Extra
			}
			return s
		}
		return "Payment by " + r.Detail
	case store.HistoryRefund:
		s := "Refund to " + strings.Replace(r.Detail, "Bank transfer", "bank transfer", 1)
		if r.Extra != "" {
			s += " (credit note " + r.Extra + ")"
		}
		return s
	}
	return r.Detail
}

func encodeHistoryCursor(c store.HistoryCursor) string {
	raw := strconv.FormatInt(c.At.UnixMicro(), 10) + "|" + string(c.Kind) + "|" + strconv.FormatInt(c.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeHistoryCursor(s string) (*store.HistoryCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return nil, false
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	kind := store.HistoryKind(parts[1])
	if err1 != nil || err2 != nil || !kind.Valid() {
		return nil, false
	}
	return &store.HistoryCursor{At: time.UnixMicro(us).UTC(), Kind: kind, ID: id}, true
}
