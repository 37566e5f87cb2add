package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Check is what the bench verifies of a run: every loaded account billed
// exactly once. Problems lists each way it was not; empty means it was.
type Check struct {
	Accounts        int64
	RenewalInvoices int64 // accounts with exactly one invoice for their new period
	Invoices        int64 // invoices in the database
	PaidInvoices    int64
	Payments        int64 // payment rows
	Succeeded       int64 // succeeded payments, at most one per invoice counted
	Numbers         string
	Problems        []string
}

// OK reports whether the run billed every account exactly once.
func (c *Check) OK() bool { return len(c.Problems) == 0 }

// check verifies the run from what is stored: n accounts; for each, one
// renewal invoice for the period that follows the one loaded (the
// subscription's current period after the run), paid, with one succeeded
// payment; no other invoice or payment; invoice numbers gapless from 1 in
// each year.
func (c *conn) check(ctx context.Context, n int) (*Check, error) {
	ck := &Check{}
	q := c.sql()
	counts := []struct {
		dst *int64
		sql string
	}{
		{&ck.Accounts, `SELECT count(*) FROM accounts`},
		// By account_id too, so that SQLite searches invoices by an index
		// (its partial period index does not serve kind = 'subscription').
		{&ck.RenewalInvoices, `SELECT count(*) FROM subscriptions s WHERE (SELECT count(*) FROM invoices i
			WHERE i.account_id = s.account_id AND i.subscription_id = s.id AND i.kind = 'subscription'
			AND i.period_start = s.period_start) = 1`},
		{&ck.Invoices, `SELECT count(*) FROM invoices`},
		{&ck.PaidInvoices, `SELECT count(*) FROM invoices WHERE status = 'paid' AND amount_due = 0 AND amount_paid = total`},
		{&ck.Payments, `SELECT count(*) FROM payments`},
		{&ck.Succeeded, `SELECT count(DISTINCT invoice_id) FROM payments WHERE status = 'succeeded'`},
	}
	for _, x := range counts {
		if err := q.QueryRowContext(ctx, x.sql).Scan(x.dst); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
	}
	want := int64(n)
	for _, p := range []struct {
		got  int64
		what string
	}{
		{ck.Accounts, "accounts"},
		{ck.RenewalInvoices, "accounts with exactly one renewal invoice"},
		{ck.Invoices, "invoices"},
		{ck.PaidInvoices, "paid invoices"},
		{ck.Payments, "payments"},
		{ck.Succeeded, "invoices with a succeeded payment"},
	} {
		if p.got != want {
			ck.Problems = append(ck.Problems, fmt.Sprintf("%d %s, want %d", p.got, p.what, want))
		}
	}

	// Numbers: INV-YYYY-NNNNNN, per year 1…count with none twice.
	rows, err := q.QueryContext(ctx, `SELECT substr(number, 5, 4), count(*), count(DISTINCT number),
		min(CAST(substr(number, 10) AS integer)), max(CAST(substr(number, 10) AS integer))
		FROM invoices WHERE number IS NOT NULL GROUP BY substr(number, 5, 4) ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("check numbers: %w", err)
	}
	defer rows.Close()
	var years []string
	for rows.Next() {
		var year string
		var count, distinct, lo, hi int64
		if err := rows.Scan(&year, &count, &distinct, &lo, &hi); err != nil {
			return nil, err
		}
		years = append(years, fmt.Sprintf("INV-%s-%06d…%06d", year, lo, hi))
		if distinct != count || lo != 1 || hi != count {
			ck.Problems = append(ck.Problems, fmt.Sprintf("invoice numbers of %s: %d invoices, %d distinct numbers, from %d to %d: not gapless",
				year, count, distinct, lo, hi))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ck.Numbers = strings.Join(years, ", ")
	return ck, nil
}

// Latency is the spread of the time one account spent in the run.
type Latency struct {
	P50, P99, Max time.Duration
	Accounts      int
}

// latency measures, from the timestamps the run wrote, how long each
// account was in the run: from its first audit event or invoice to its
// payment's resolution (or its last audit event). Under a batched run this
// is about a batch's time; account by account, about one account's.
func (c *conn) latency(ctx context.Context, before map[string]mark) (Latency, error) {
	type span struct{ first, last time.Time }
	spans := map[int64]*span{}
	see := func(account int64, t time.Time) {
		s := spans[account]
		if s == nil {
			spans[account] = &span{t, t}
			return
		}
		if t.Before(s.first) {
			s.first = t
		}
		if t.After(s.last) {
			s.last = t
		}
	}
	queries := []string{
		fmt.Sprintf(`SELECT account_id, at FROM audit_events WHERE account_id IS NOT NULL AND id > %d`, before["audit_events"].maxID),
		fmt.Sprintf(`SELECT account_id, created_at FROM invoices WHERE id > %d`, before["invoices"].maxID),
		fmt.Sprintf(`SELECT account_id, resolved_at FROM payments WHERE resolved_at IS NOT NULL AND id > %d`, before["payments"].maxID),
	}
	for _, sq := range queries {
		rows, err := c.sql().QueryContext(ctx, sq)
		if err != nil {
			return Latency{}, fmt.Errorf("latency: %w", err)
		}
		for rows.Next() {
			var id int64
			var at any
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return Latency{}, err
			}
			t, err := timeOf(at)
			if err != nil {
				rows.Close()
				return Latency{}, err
			}
			see(id, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Latency{}, err
		}
	}
	ds := make([]time.Duration, 0, len(spans))
	for _, s := range spans {
		ds = append(ds, s.last.Sub(s.first))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Latency{P50: quantile(ds, 0.50), P99: quantile(ds, 0.99), Max: quantile(ds, 1), Accounts: len(ds)}, nil
}

func timeOf(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t, nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	}
	return time.Time{}, fmt.Errorf("latency: a timestamp of type %T", v)
}

// quantile is the q-quantile of sorted ds (nearest rank).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}
