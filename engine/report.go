package engine

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// The operator's reports: monthly recurring revenue and its movements,
// revenue recognized and deferred, and receivables by age. Every figure is
// computed with the rules in billing/revenue.go from what the store records;
// the definitions are quoted in docs/reports.md.

// ReportRequest chooses a report's rows: one account or all (AccountID 0),
// one currency (USD when empty), the months From through To (the last 12
// months when zero), and the instant the report is as of (now when zero).
type ReportRequest struct {
	AccountID int64
	Currency  string
	From, To  billing.YearMonth
	AsOf      time.Time
}

// AccountRef names an account in a report.
type AccountRef struct {
	ID     int64  `json:"-"`
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
}

func (e *Engine) reportRequest(ctx context.Context, r ReportRequest) (ReportRequest, error) {
	if r.Currency == "" {
		r.Currency = "USD"
	}
	if r.AsOf.IsZero() && r.AccountID > 0 { // one account's figures: as of its own time
		now, err := e.accountNow(ctx, r.AccountID)
		if err != nil {
			return r, err
		}
		r.AsOf = now
	}
	if r.AsOf.IsZero() {
		r.AsOf = e.clock.Now()
	}
	if r.To == (billing.YearMonth{}) {
		r.To = billing.MonthOf(billing.DateOf(r.AsOf, time.UTC))
	}
	if r.From == (billing.YearMonth{}) || r.To.Before(r.From) {
		r.From = billing.MonthOf(r.To.Start().AddDays(-1)) // 11 months back, then the loop adds To
		for range 10 {
			r.From = billing.MonthOf(r.From.Start().AddDays(-1))
		}
	}
	return r, nil
}

// monthEnd is the instant a month's figures are taken at: the first moment
// of the next month in UTC, or asOf when that comes first.
func monthEnd(m billing.YearMonth, asOf time.Time) time.Time {
	end := m.Next().Start().Midnight(time.UTC)
	if asOf.Before(end) {
		return asOf
	}
	return end
}

func months(from, to billing.YearMonth) []billing.YearMonth {
	var out []billing.YearMonth
	for m := from; !to.Before(m); m = m.Next() {
		out = append(out, m)
	}
	return out
}

// MRRReport is monthly recurring revenue: now, and at each month's end with
// how it moved during the month.
type MRRReport struct {
	Currency string        `json:"currency"`
	AsOf     time.Time     `json:"as_of"`
	MRR      billing.Money `json:"mrr"`
	ARR      billing.Money `json:"arr"` // 12 × MRR
	Months   []MRRMonth    `json:"months"`
	Accounts []AccountMRR  `json:"accounts"` // every account with MRR now, largest first
}

// MRRMonth is one month of the MRR report.
type MRRMonth struct {
	Month string        `json:"month"` // 2026-05
	MRR   billing.Money `json:"mrr"`   // at the month's end
	// Accounts is how many accounts had MRR at the month's end.
	Accounts  int           `json:"accounts"`
	Movements []MRRMovement `json:"movements"` // in billing.Movements order
}

// MRRMovement is one kind of movement in a month: its net amount and the
// accounts behind it.
type MRRMovement struct {
	Movement billing.Movement `json:"movement"`
	Amount   billing.Money    `json:"amount"`
	Accounts []AccountRef     `json:"accounts"`
}

// AccountMRR is one account's MRR now.
type AccountMRR struct {
	Account AccountRef    `json:"account"`
	Plan    string        `json:"plan"`
	MRR     billing.Money `json:"mrr"`
}

// changeMRR is the MRR a subscription change sets.
func changeMRR(c store.SubscriptionChange) (int64, error) {
	if !c.Recurring {
		return 0, nil
	}
	m, err := billing.MRR(c.Seats, c.UnitAmount, c.Interval)
	return m.Amount, err
}

// accountHistory is one account's subscription changes, in the order they
// were recorded.
type accountHistory struct {
	ref     AccountRef
	changes []store.SubscriptionChange
	mrr     []int64 // the MRR each change sets
}

// at returns the change in force at t: the last one recorded whose time was
// before t. Not simply the latest time: an account attached to a test clock
// set in the past has its first change (made on the real clock) dated after
// the ones its clock made since, and that first change is older than them.
func (h *accountHistory) at(t time.Time) (int, bool) {
	for i := len(h.changes) - 1; i >= 0; i-- {
		if h.changes[i].At.Before(t) {
			return i, true
		}
	}
	return -1, false
}

func (h *accountHistory) mrrAt(t time.Time) int64 {
	if i, ok := h.at(t); ok {
		return h.mrr[i]
	}
	return 0
}

// hadMRRBefore reports whether any change before t set MRR.
func (h *accountHistory) hadMRRBefore(t time.Time) bool {
	for i, c := range h.changes {
		if h.mrr[i] > 0 && c.At.Before(t) {
			return true
		}
	}
	return false
}

func (h *accountHistory) planAt(t time.Time) string {
	if i, ok := h.at(t); ok {
		return h.changes[i].PlanCode
	}
	return ""
}

func histories(changes []store.SubscriptionChange) ([]*accountHistory, map[int64]*accountHistory, error) {
	var list []*accountHistory
	byID := map[int64]*accountHistory{}
	for _, c := range changes {
		h := byID[c.AccountID]
		if h == nil {
			h = &accountHistory{ref: AccountRef{ID: c.AccountID, Number: c.AccountNumber, Name: c.AccountName}}
			byID[c.AccountID] = h
			list = append(list, h)
		}
		m, err := changeMRR(c)
		if err != nil {
			return nil, nil, err
		}
		h.changes, h.mrr = append(h.changes, c), append(h.mrr, m)
	}
	return list, byID, nil
}

// MRR computes the MRR report: DESIGN-free definitions in docs/reports.md.
// An account's MRR at an instant is what its subscription's terms in force
// then bill a month (billing.MRR), zero on the Free plan or once canceled;
// a month's movements compare each account's MRR at the end of the month
// before with its MRR at the month's end (billing.ClassifyMovement), so the
// movements of a month always add up to the change of MRR over it.
func (e *Engine) MRR(ctx context.Context, r ReportRequest) (*MRRReport, error) {
	r, err := e.reportRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := e.db.ReportData(ctx, store.ReportQuery{Parts: store.ReportChanges, AccountID: r.AccountID,
		Currency: r.Currency, Through: r.AsOf})
	if err != nil {
		return nil, err
	}
	list, _, err := histories(data.Changes)
	if err != nil {
		return nil, err
	}
	money := func(v int64) billing.Money { return billing.NewMoney(v, r.Currency) }
	out := &MRRReport{Currency: r.Currency, AsOf: r.AsOf}
	var now int64
	for _, h := range list {
		if m := h.mrrAt(r.AsOf.Add(time.Nanosecond)); m > 0 {
			now += m
			out.Accounts = append(out.Accounts, AccountMRR{Account: h.ref, Plan: h.planAt(r.AsOf.Add(time.Nanosecond)), MRR: money(m)})
		}
	}
	slices.SortStableFunc(out.Accounts, func(a, b AccountMRR) int { return int(b.MRR.Amount - a.MRR.Amount) })
	out.MRR, out.ARR = money(now), money(12*now)
	for _, m := range months(r.From, r.To) {
		start := m.Start().Midnight(time.UTC)
		if start.After(r.AsOf) {
			break
		}
		end := monthEnd(m, r.AsOf.Add(time.Nanosecond))
		row := MRRMonth{Month: m.String()}
		moved := map[billing.Movement]*MRRMovement{}
		var total int64
		for _, h := range list {
			before, after := h.mrrAt(start), h.mrrAt(end)
			total += after
			if after > 0 {
				row.Accounts++
			}
			kind, delta := billing.ClassifyMovement(before, after, h.hadMRRBefore(start))
			if kind == billing.MovementNone {
				continue
			}
			mv := moved[kind]
			if mv == nil {
				mv = &MRRMovement{Movement: kind, Amount: money(0)}
				moved[kind] = mv
			}
			mv.Amount.Amount += delta
			mv.Accounts = append(mv.Accounts, h.ref)
		}
		row.MRR = money(total)
		for _, kind := range billing.Movements {
			if mv := moved[kind]; mv != nil {
				row.Movements = append(row.Movements, *mv)
			} else {
				row.Movements = append(row.Movements, MRRMovement{Movement: kind, Amount: money(0), Accounts: []AccountRef{}})
			}
		}
		out.Months = append(out.Months, row)
	}
	return out, nil
}

// RevenueReport is revenue recognized and deferred per month, in total, per
// plan and per account.
type RevenueReport struct {
	Currency string          `json:"currency"`
	Months   []RevenueMonth  `json:"months"`
	Plans    []RevenueSeries `json:"plans"`
	Accounts []RevenueSeries `json:"accounts"`
}

// RevenueMonth is one month of the revenue report. Invoiced is what the
// lines of the invoices issued in the month come to (a credit note's lines
// are negative), Credited the signup, inactivity and adjustment credits
// granted in it; Recognized is what falls in the month; Deferred what is
// invoiced but not yet recognized at the month's end. Through any month,
// the recognized months plus the deferred balance equal everything invoiced
// minus everything credited.
type RevenueMonth struct {
	Month      string        `json:"month"`
	Invoiced   billing.Money `json:"invoiced"`
	Credited   billing.Money `json:"credited"`
	Recognized billing.Money `json:"recognized"`
	Deferred   billing.Money `json:"deferred"`
}

// RevenueSeries is what one plan or one account recognized in each month of
// the report, in the order of RevenueReport.Months.
type RevenueSeries struct {
	Key        string          `json:"key"` // a plan code, or an account number
	Name       string          `json:"name,omitempty"`
	Recognized []billing.Money `json:"recognized"`
	Total      billing.Money   `json:"total"`
}

// recognition is what one amount recognizes in each month: the line's days
// by billing.Recognize, with any day before the invoice was issued taken in
// the month of issue (revenue is never recognized before it is invoiced).
func recognition(amount billing.Money, p billing.Period, issued billing.Date) []billing.MonthAmount {
	issueMonth := billing.MonthOf(issued)
	var out []billing.MonthAmount
	for _, ma := range billing.Recognize(amount, p, issued) {
		if ma.Month.Before(issueMonth) {
			ma.Month = issueMonth
		}
		if n := len(out); n > 0 && out[n-1].Month == ma.Month {
			out[n-1].Amount.Amount += ma.Amount.Amount
			continue
		}
		out = append(out, ma)
	}
	return out
}

// Revenue computes the revenue report.
func (e *Engine) Revenue(ctx context.Context, r ReportRequest) (*RevenueReport, error) {
	r, err := e.reportRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := e.db.ReportData(ctx, store.ReportQuery{Parts: store.ReportChanges | store.ReportLines | store.ReportGrants,
		AccountID: r.AccountID, Currency: r.Currency, Through: r.AsOf})
	if err != nil {
		return nil, err
	}
	_, byAccount, err := histories(data.Changes)
	if err != nil {
		return nil, err
	}
	ms := months(r.From, r.To)
	index := map[billing.YearMonth]int{}
	for i, m := range ms {
		index[m] = i
	}
	money := func(v int64) billing.Money { return billing.NewMoney(v, r.Currency) }
	invoiced, credited, recognized := make([]int64, len(ms)), make([]int64, len(ms)), make([]int64, len(ms))
	var deferredBefore int64 // invoiced and not recognized before the first month
	plans, accounts := map[string]*RevenueSeries{}, map[string]*RevenueSeries{}
	var planOrder, accountOrder []string
	series := func(m map[string]*RevenueSeries, order *[]string, key, name string) *RevenueSeries {
		s := m[key]
		if s == nil {
			s = &RevenueSeries{Key: key, Name: name, Recognized: make([]billing.Money, len(ms)), Total: money(0)}
			for i := range s.Recognized {
				s.Recognized[i] = money(0)
			}
			m[key] = s
			*order = append(*order, key)
		}
		return s
	}
	// recognize puts what amount recognizes month by month into the totals
	// and the plan's and the account's series; it returns what fell before
	// the first month.
	recognize := func(amount billing.Money, p billing.Period, issued billing.Date, plan, account, accountName string) (before int64) {
		ps, as := series(plans, &planOrder, plan, ""), series(accounts, &accountOrder, account, accountName)
		for _, ma := range recognition(amount, p, issued) {
			i, ok := index[ma.Month]
			switch {
			case ma.Month.Before(r.From):
				before += ma.Amount.Amount
			case ok:
				recognized[i] += ma.Amount.Amount
				ps.Recognized[i].Amount += ma.Amount.Amount
				as.Recognized[i].Amount += ma.Amount.Amount
				ps.Total.Amount += ma.Amount.Amount
				as.Total.Amount += ma.Amount.Amount
			}
		}
		return before
	}
	accountOf := func(id int64, at time.Time) (plan, name string) {
		if h := byAccount[id]; h != nil {
			return h.planAt(at), h.ref.Name
		}
		return "", ""
	}
	for _, l := range data.Lines {
		plan, name := accountOf(l.AccountID, l.CreatedAt.Add(time.Nanosecond))
		if i, ok := index[billing.MonthOf(l.Issued)]; ok {
			invoiced[i] += l.Amount.Amount
		} else if billing.MonthOf(l.Issued).Before(r.From) {
			deferredBefore += l.Amount.Amount
		}
		deferredBefore -= recognize(l.Amount, l.Period, l.Issued, plan, l.AccountNumber, name)
	}
	// A credit granted is recognized, negatively, on the day it is granted:
	// credited and recognized at once, it defers nothing.
	for _, g := range data.Grants {
		plan, name := accountOf(g.AccountID, g.On.AddDays(1).Midnight(time.UTC))
		if i, ok := index[billing.MonthOf(g.On)]; ok {
			credited[i] += g.Amount.Amount
		}
		recognize(g.Amount.Neg(), billing.Period{}, g.On, plan, g.AccountNumber, name)
	}
	out := &RevenueReport{Currency: r.Currency}
	deferred := deferredBefore
	for i, m := range ms {
		deferred += invoiced[i] - credited[i] - recognized[i]
		out.Months = append(out.Months, RevenueMonth{Month: m.String(), Invoiced: money(invoiced[i]),
			Credited: money(credited[i]), Recognized: money(recognized[i]), Deferred: money(deferred)})
	}
	for _, k := range planOrder {
		out.Plans = append(out.Plans, *plans[k])
	}
	slices.SortFunc(out.Plans, func(a, b RevenueSeries) int { return int(b.Total.Amount - a.Total.Amount) })
	for _, k := range accountOrder {
		out.Accounts = append(out.Accounts, *accounts[k])
	}
	slices.SortStableFunc(out.Accounts, func(a, b RevenueSeries) int { return int(b.Total.Amount - a.Total.Amount) })
	return out, nil
}

// ReceivablesReport is what accounts owe, by how long it is past due.
type ReceivablesReport struct {
	Currency string         `json:"currency"`
	AsOf     billing.Date   `json:"as_of"`
	Total    billing.Money  `json:"total"`
	Buckets  []AgingRow     `json:"buckets"` // in billing.AgingBuckets order
	Invoices []ReceivableAt `json:"invoices"`
}

// AgingRow is one bucket of the receivables.
type AgingRow struct {
	Bucket   billing.AgingBucket `json:"bucket"`
	Amount   billing.Money       `json:"amount"`
	Invoices int                 `json:"invoices"`
	Accounts []AccountRef        `json:"accounts"`
}

// ReceivableAt is one open invoice with its bucket.
type ReceivableAt struct {
	Invoice   string              `json:"invoice"`
	Account   AccountRef          `json:"account"`
	Issued    billing.Date        `json:"issued"`
	Due       billing.Date        `json:"due"`
	DaysLate  int                 `json:"days_late"`
	Bucket    billing.AgingBucket `json:"bucket"`
	AmountDue billing.Money       `json:"amount_due"`
}

// Receivables computes the receivables aging on the UTC day of the
// request's instant: each open invoice's amount due, in its bucket by days
// past its due date (billing.Age; an invoice due at once is due on its issue
// date).
func (e *Engine) Receivables(ctx context.Context, r ReportRequest) (*ReceivablesReport, error) {
	r, err := e.reportRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	data, err := e.db.ReportData(ctx, store.ReportQuery{Parts: store.ReportReceivables, AccountID: r.AccountID,
		Currency: r.Currency, Through: r.AsOf})
	if err != nil {
		return nil, err
	}
	today := billing.DateOf(r.AsOf, time.UTC)
	out := &ReceivablesReport{Currency: r.Currency, AsOf: today, Total: billing.Zero(r.Currency), Invoices: []ReceivableAt{}}
	rows := map[billing.AgingBucket]*AgingRow{}
	for _, b := range billing.AgingBuckets {
		rows[b] = &AgingRow{Bucket: b, Amount: billing.Zero(r.Currency), Accounts: []AccountRef{}}
	}
	for _, rc := range data.Receivables {
		b := billing.Age(rc.Due, today)
		ref := AccountRef{ID: rc.AccountID, Number: rc.AccountNumber, Name: rc.AccountName}
		row := rows[b]
		row.Amount.Amount += rc.AmountDue.Amount
		row.Invoices++
		if !slices.ContainsFunc(row.Accounts, func(a AccountRef) bool { return a.ID == ref.ID }) {
			row.Accounts = append(row.Accounts, ref)
		}
		out.Total.Amount += rc.AmountDue.Amount
		out.Invoices = append(out.Invoices, ReceivableAt{Invoice: rc.InvoiceNumber, Account: ref, Issued: rc.Issued,
			Due: rc.Due, DaysLate: max(rc.Due.DaysUntil(today), 0), Bucket: b, AmountDue: rc.AmountDue})
	}
	for _, b := range billing.AgingBuckets {
		out.Buckets = append(out.Buckets, *rows[b])
	}
	return out, nil
}

// The reports as tables, the one CSV layout of each (API and console):
// a header row, then amounts as decimals in the currency's unit.

// Rows is the MRR report a month a row, each movement a column.
func (r *MRRReport) Rows() [][]string {
	head := []string{"month", "mrr", "accounts"}
	for _, m := range billing.Movements {
		head = append(head, string(m))
	}
	rows := [][]string{append(head, "currency")}
	for _, m := range r.Months {
		row := []string{m.Month, m.MRR.Decimal(), strconv.Itoa(m.Accounts)}
		for _, mv := range m.Movements {
			row = append(row, mv.Amount.Decimal())
		}
		rows = append(rows, append(row, r.Currency))
	}
	return rows
}

// Rows is the revenue report: the totals a month a row (scope "total"),
// then what each plan and each account recognized each month (scopes
// "plan" and "account").
func (r *RevenueReport) Rows() [][]string {
	rows := [][]string{{"scope", "key", "month", "invoiced", "credited", "recognized", "deferred", "currency"}}
	for _, m := range r.Months {
		rows = append(rows, []string{"total", "", m.Month, m.Invoiced.Decimal(), m.Credited.Decimal(), m.Recognized.Decimal(),
			m.Deferred.Decimal(), r.Currency})
	}
	for _, set := range []struct {
		scope  string
		series []RevenueSeries
	}{{"plan", r.Plans}, {"account", r.Accounts}} {
		for _, sr := range set.series {
			for i, m := range sr.Recognized {
				rows = append(rows, []string{set.scope, sr.Key, r.Months[i].Month, "", "", m.Decimal(), "", r.Currency})
			}
		}
	}
	return rows
}

// Rows is the receivables report, an open invoice a row.
func (r *ReceivablesReport) Rows() [][]string {
	rows := [][]string{{"invoice", "account", "account_name", "issued", "due", "days_late", "bucket", "amount_due", "currency"}}
	for _, i := range r.Invoices {
		rows = append(rows, []string{i.Invoice, i.Account.Number, i.Account.Name, i.Issued.String(), i.Due.String(),
			strconv.Itoa(i.DaysLate), string(i.Bucket), i.AmountDue.Decimal(), r.Currency})
	}
	return rows
}

// CollectionsReport is how money came in: invoiced against collected per
// month, what became of the invoices whose card payment failed (the
// dunning funnel), and the renewals due in the next 30 days.
type CollectionsReport struct {
	Currency string            `json:"currency"`
	Months   []CollectionMonth `json:"months"`
	Dunning  []DunningStage    `json:"dunning"`
	Renewals RenewalsDue       `json:"renewals"`
}

// CollectionMonth is one month: the totals of the invoices issued in it
// (tax included, credits taken off, a credit note's negative) and the
// payments that succeeded in it, less what of them was refunded.
type CollectionMonth struct {
	Month     string        `json:"month"`
	Invoiced  billing.Money `json:"invoiced"`
	Collected billing.Money `json:"collected"`
}

// The stages of the dunning funnel.
const (
	DunningFailed         = "failed"             // a card payment failed (the funnel's top)
	DunningRecoveredRetry = "recovered_by_retry" // paid by a scheduled retry
	DunningRecoveredCard  = "recovered_by_card"  // paid when a new card was added
	DunningRecoveredOther = "recovered_other"    // paid now by an admin, or by bank transfer
	DunningStillOpen      = "still_open"         // unpaid, the account not suspended
	DunningSuspended      = "suspended"          // unpaid, the account suspended
	DunningWrittenOff     = "written_off"        // void or uncollectible
)

// DunningStage is one stage of the funnel: how many invoices, and whose.
type DunningStage struct {
	Stage    string       `json:"stage"`
	Invoices int          `json:"invoices"`
	Accounts []AccountRef `json:"accounts"`
}

// RenewalsDue is the paid subscriptions whose period ends in [From, To):
// how many, and what their next period lists at — seats × the per-user
// price of the terms they renew on (a scheduled change's), before credits
// and tax.
type RenewalsDue struct {
	From     billing.Date   `json:"from"`
	To       billing.Date   `json:"to"`
	Count    int            `json:"count"`
	Amount   billing.Money  `json:"amount"`
	Accounts []RenewalOnDay `json:"accounts"`
}

// RenewalOnDay is one renewal due.
type RenewalOnDay struct {
	Account AccountRef    `json:"account"`
	On      billing.Date  `json:"on"`
	Plan    string        `json:"plan"`
	Amount  billing.Money `json:"amount"`
}

// renewalWindow is how far ahead the renewals due look.
const renewalWindow = 30

// Collections computes the collections report: its months are the
// request's; the funnel counts the invoices whose first failed card
// payment fell in them; renewals are those of the 30 days from today (UTC).
func (e *Engine) Collections(ctx context.Context, r ReportRequest) (*CollectionsReport, error) {
	r, err := e.reportRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	today := billing.DateOf(r.AsOf, time.UTC)
	data, err := e.db.ReportData(ctx, store.ReportQuery{
		Parts:     store.ReportIssued | store.ReportCollections | store.ReportFailed | store.ReportRenewals,
		AccountID: r.AccountID, Currency: r.Currency, Through: r.AsOf, Since: r.From.Start().Midnight(time.UTC),
		RenewFrom: today, RenewTo: today.AddDays(renewalWindow)})
	if err != nil {
		return nil, err
	}
	money := func(v int64) billing.Money { return billing.NewMoney(v, r.Currency) }
	out := &CollectionsReport{Currency: r.Currency}
	index := map[billing.YearMonth]int{}
	for i, m := range months(r.From, r.To) {
		index[m] = i
		out.Months = append(out.Months, CollectionMonth{Month: m.String(), Invoiced: money(0), Collected: money(0)})
	}
	for _, iv := range data.Issued {
		if i, ok := index[billing.MonthOf(iv.On)]; ok {
			out.Months[i].Invoiced.Amount += iv.Total.Amount
		}
	}
	for _, c := range data.Collections {
		if i, ok := index[billing.MonthOf(billing.DateOf(c.At, time.UTC))]; ok {
			out.Months[i].Collected.Amount += c.Amount.Amount
		}
	}

	stages := []string{DunningFailed, DunningRecoveredRetry, DunningRecoveredCard, DunningRecoveredOther,
		DunningStillOpen, DunningSuspended, DunningWrittenOff}
	byStage := map[string]*DunningStage{}
	for _, st := range stages {
		byStage[st] = &DunningStage{Stage: st, Accounts: []AccountRef{}}
	}
	add := func(st string, ref AccountRef) {
		s := byStage[st]
		s.Invoices++
		if !slices.ContainsFunc(s.Accounts, func(a AccountRef) bool { return a.ID == ref.ID }) {
			s.Accounts = append(s.Accounts, ref)
		}
	}
	for _, f := range data.Failed {
		ref := AccountRef{ID: f.AccountID, Number: f.AccountNumber, Name: f.AccountName}
		add(DunningFailed, ref)
		add(dunningStage(f), ref)
	}
	for _, st := range stages {
		out.Dunning = append(out.Dunning, *byStage[st])
	}

	out.Renewals = RenewalsDue{From: today, To: today.AddDays(renewalWindow), Amount: money(0), Accounts: []RenewalOnDay{}}
	for _, rn := range data.Renewals {
		amount, err := rn.Terms.PeriodAmount()
		if err != nil {
			return nil, err
		}
		if amount.Amount == 0 {
			continue
		}
		out.Renewals.Count++
		out.Renewals.Amount.Amount += amount.Amount
		out.Renewals.Accounts = append(out.Renewals.Accounts, RenewalOnDay{
			Account: AccountRef{ID: rn.AccountID, Number: rn.AccountNumber, Name: rn.AccountName},
			On:      rn.On, Plan: rn.Terms.Plan.Code, Amount: amount})
	}
	return out, nil
}

// dunningStage says where an invoice whose card payment failed ended: paid
// by a retry, by a new card or otherwise (Pay now, a bank transfer, an
// operator), written off, or still unpaid with its account suspended or
// not.
func dunningStage(f store.FailedInvoice) string {
	switch {
	case f.Status == billing.InvoicePaid && f.PaidBy == store.TriggerRetry:
		return DunningRecoveredRetry
	case f.Status == billing.InvoicePaid && f.PaidBy == store.TriggerNewMethod:
		return DunningRecoveredCard
	case f.Status == billing.InvoicePaid:
		return DunningRecoveredOther
	case f.Status == billing.InvoiceVoid || f.Status == billing.InvoiceUncollectible:
		return DunningWrittenOff
	case f.AccountStatus == billing.StatusSuspended:
		return DunningSuspended
	default:
		return DunningStillOpen
	}
}

// Rows is the collections report's months as CSV rows.
func (r *CollectionsReport) Rows() [][]string {
	rows := [][]string{{"month", "invoiced", "collected", "currency"}}
	for _, m := range r.Months {
		rows = append(rows, []string{m.Month, m.Invoiced.Decimal(), m.Collected.Decimal(), r.Currency})
	}
	return rows
}
