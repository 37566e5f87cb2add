package engine

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io"
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

// HistoryEntry is one row of the Billing History: one per invoice, at its
// total with the credits it applied; one per credit note, payment and
// refund; one per credit granted (signup, inactivity, an operator's
// adjustment).
type HistoryEntry struct {
	Date       billing.Date // in the account's time zone
	At         time.Time
	Type       store.HistoryKind
	ID         int64 // the row's id within its type
	Summary    string
	Statement  string // the invoice or credit note number to link to
	ChargeType string // card, ach_eft, credit_redeem, refund, credit_note; signup_credit, inactivity_credit, credit_adjustment
	// Status: an invoice's paid, open, failed (its last payment attempt
	// failed, or it was given up as uncollectible) or void; a credit
	// note's issued; a payment's succeeded or refunded; a refund's
	// succeeded; "" for a credit.
	Status string
	// Amount is signed: what the row adds to (invoice, refund) or takes
	// from (payment, a refund's credit note) what the account owes. The
	// amounts of all an account's rows sum to what it owes.
	Amount billing.Money
	// Credit is how the row moved the credit balance: the credits an
	// invoice applied (negative), a credit granted or a credit note to the
	// balance (positive); zero on rows that did not move it.
	Credit             billing.Money
	CreditBalanceAfter billing.Money
}

// Credit charge types: what a credit row is, named for what it is.
const (
	ChargeSignupCredit     = "signup_credit"
	ChargeInactivityCredit = "inactivity_credit"
	ChargeCreditAdjustment = "credit_adjustment"
	// ChargeCreditNote is a credit note whose amount went to the credit
	// balance (a refund's credit note has the refund's charge type).
	ChargeCreditNote = "credit_note"
)

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
			Summary: historySummary(r), Statement: r.Statement, ChargeType: historyChargeType(r), Status: historyStatus(r),
			Amount: r.Amount, Credit: r.Credit, CreditBalanceAfter: r.CreditAfter})
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
		if r.Extra == "credit_balance" {
			s += ", to the credit balance"
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

// historyChargeType is the row's charge type: how an invoice was paid,
// a payment's method, or what a credit is.
func historyChargeType(r *store.HistoryRow) string {
	if r.Kind == store.HistoryCreditNote && r.Extra == "credit_balance" {
		return ChargeCreditNote
	}
	if r.Kind != store.HistoryCredit {
		return r.ChargeType
	}
	switch store.CreditReason(r.ChargeType) {
	case store.CreditSignup:
		return ChargeSignupCredit
	case store.CreditInactivity:
		return ChargeInactivityCredit
	case store.CreditAdjustment:
		return ChargeCreditAdjustment
	}
	return r.ChargeType + "_credit"
}

func historyStatus(r *store.HistoryRow) string {
	switch r.Kind {
	case store.HistoryCredit:
		return ""
	case store.HistoryCreditNote:
		return "issued"
	}
	return r.Status
}

// HistoryCSVColumns are the columns of the Billing History export, the
// same from the console and the API (docs/engine.md describes each).
var HistoryCSVColumns = []string{"date", "type", "details", "statement", "charge_type", "status", "amount", "credit",
	"credit_balance", "currency"}

// HistoryCSVFilename is the export's file name: "KB-000042-billing-history.csv".
func HistoryCSVFilename(accountNumber string) string { return accountNumber + "-billing-history.csv" }

// MaxHistoryCSVRows bounds one export.
const MaxHistoryCSVRows = 100000

// WriteHistoryCSV writes the rows of the account's history that q selects
// (all pages, oldest first) as CSV with a header row: amounts are decimals
// in the currency's unit ("-25.00"), a text cell that a spreadsheet would
// read as a formula is prefixed with "'". More than MaxHistoryCSVRows rows
// is an EINVALID error (export_too_large) before anything is written.
func (e *Engine) WriteHistoryCSV(ctx context.Context, w io.Writer, accountID int64, q HistoryQuery) error {
	q.Limit, q.Cursor = 1000, ""
	var rows []HistoryEntry
	for {
		page, err := e.History(ctx, accountID, q)
		if err != nil {
			return err
		}
		rows = append(rows, page.Entries...)
		if page.NextCursor == "" {
			break
		}
		if len(rows) >= MaxHistoryCSVRows {
			return billing.ReasonErrorf(billing.EINVALID, "export_too_large",
				"More than %d rows; export a shorter range of days.", MaxHistoryCSVRows)
		}
		q.Cursor = page.NextCursor
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(HistoryCSVColumns); err != nil {
		return fmt.Errorf("history csv: %w", err)
	}
	for _, r := range rows {
		if err := cw.Write([]string{r.Date.String(), string(r.Type), billing.SpreadsheetText(r.Summary), billing.SpreadsheetText(r.Statement), r.ChargeType,
			r.Status, r.Amount.Decimal(), r.Credit.Decimal(), r.CreditBalanceAfter.Decimal(), r.Amount.Currency}); err != nil {
			return fmt.Errorf("history csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("history csv: %w", err)
	}
	return nil
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
