package engine_test

import (
	"strings"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// reportHistory builds the known history every report test reads, with a
// $5.00 signup credit for each account (collection is off, so every invoice
// stays open):
//
//	Acme:   1 Mar 09:00 Premium monthly, 5 users; 16 Mar monthly → annual.
//	Globex: 1 Apr 09:00 Premium monthly, 2 users; 11 Apr Enterprise;
//	        20 Apr cancel; 1 May renewed to Free; 15 Jun Premium, 1 user.
func reportHistory(t *testing.T, b *bundle) {
	t.Helper()
	acme := b.account(t, "Acme")
	b.confirm(t, acme, premium(billing.Month, 5))
	b.clock.Set(mustTime("2026-03-16T09:00:00Z"))
	b.confirm(t, acme, premium(billing.Year, 5))
	b.clock.Set(mustTime("2026-04-01T09:00:00Z"))
	globex := b.account(t, "Globex")
	b.confirm(t, globex, premium(billing.Month, 2))
	b.clock.Set(mustTime("2026-04-11T09:00:00Z"))
	b.confirm(t, globex, engine.ChangeRequest{Plan: engine.PlanEnterprise, Interval: billing.Month, Seats: 2})
	b.clock.Set(mustTime("2026-04-20T09:00:00Z"))
	if _, err := b.eng.Cancel(b.ctx, globex.ID); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(mustTime("2026-05-01T00:00:00Z"))
	wantSteps(t, b.bill(t, globex), "renewal 2026-05-01")
	b.clock.Set(mustTime("2026-06-15T10:00:00Z"))
	b.confirm(t, globex, premium(billing.Month, 1))
	b.clock.Set(mustTime("2026-06-30T12:00:00Z"))
}

func reportRequest() engine.ReportRequest {
	return engine.ReportRequest{From: billing.YearMonth{Year: 2026, Month: 3}, To: billing.YearMonth{Year: 2026, Month: 6}}
}

func TestReport_MRRAndItsMovementsOverAKnownHistory(t *testing.T) {
	forEachStore(t, "2026-03-01T09:00:00Z", func(t *testing.T, b *bundle) {
		reportHistory(t, b)
		r, err := b.eng.MRR(b.ctx, reportRequest())
		if err != nil {
			t.Fatal(err)
		}
		// Now: Acme 5 × $100 a year = $500 ÷ 12 = $41.666… → $41.67, rounded
		// once; Globex 1 × $10. MRR $51.67, ARR 12 × $51.67 = $620.04.
		if r.MRR != usd(5167) || r.ARR != usd(62004) || len(r.Accounts) != 2 || r.Accounts[0].Account.Number != "KB-000001" ||
			r.Accounts[0].MRR != usd(4167) || r.Accounts[1].Plan != engine.PlanPremium {
			t.Fatalf("now: MRR %v ARR %v accounts %+v", r.MRR, r.ARR, r.Accounts)
		}
		type want struct {
			month    string
			mrr      int64
			accounts int
			moves    map[billing.Movement]int64 // net amount; absent means none
		}
		for i, w := range []want{
			// March: Acme new at $50, then annual at $41.67 within the
			// month: one movement, new, of what it ended the month at.
			{"2026-03", 4167, 1, map[billing.Movement]int64{billing.MovementNew: 4167}},
			// April: Globex new; its Enterprise upgrade is within the month.
			// 2 × $20 = $40.
			{"2026-04", 8167, 2, map[billing.Movement]int64{billing.MovementNew: 4000}},
			// May: Globex canceled in April, on Free from 1 May: churn.
			{"2026-05", 4167, 1, map[billing.Movement]int64{billing.MovementChurn: -4000}},
			// June: Globex back on Premium, 1 user: reactivation, not new.
			{"2026-06", 5167, 2, map[billing.Movement]int64{billing.MovementReactivation: 1000}},
		} {
			m := r.Months[i]
			if m.Month != w.month || m.MRR != usd(w.mrr) || m.Accounts != w.accounts {
				t.Errorf("%s: MRR %v over %d accounts, want %d over %d", m.Month, m.MRR, m.Accounts, w.mrr, w.accounts)
			}
			var net int64
			for _, mv := range m.Movements {
				net += mv.Amount.Amount
				if mv.Amount.Amount != w.moves[mv.Movement] {
					t.Errorf("%s %s = %v, want %d", m.Month, mv.Movement, mv.Amount, w.moves[mv.Movement])
				}
				if (mv.Amount.Amount != 0) != (len(mv.Accounts) == 1) {
					t.Errorf("%s %s accounts %+v", m.Month, mv.Movement, mv.Accounts)
				}
			}
			prev := int64(0)
			if i > 0 {
				prev = r.Months[i-1].MRR.Amount
			}
			if net != m.MRR.Amount-prev {
				t.Errorf("%s: movements add to %d, MRR moved %d", m.Month, net, m.MRR.Amount-prev)
			}
		}
		if len(r.Months) != 4 {
			t.Fatalf("%d months", len(r.Months))
		}
	}, signupCredit(500))
}

func TestReport_RevenueRecognizedAndDeferredByDay(t *testing.T) {
	forEachStore(t, "2026-03-01T09:00:00Z", func(t *testing.T, b *bundle) {
		reportHistory(t, b)
		r, err := b.eng.Revenue(b.ctx, reportRequest())
		if err != nil {
			t.Fatal(err)
		}
		// The lines, by their service periods:
		//   Acme  1 Mar  $50.00 over March.
		//   Acme 16 Mar −$25.81 unused March; $500.00 over 16 Mar 2026 –
		//         16 Mar 2027, 365 days: 50000 ÷ 365 = 136 a day, the last
		//         day 496: March 16 days 2176, April 4080, May 4216, June 4080.
		//   Globex 1 Apr $20.00 over April; 11 Apr −$13.33 + $26.67 in April.
		//   Globex 15 Jun $10.00 over 15 Jun – 15 Jul, 30 days: 33 a day, the
		//         last 43: June 16 days 528, July 472.
		// The signup credits, $5.00 on 1 Mar and on 1 Apr, are recognized
		// (negatively) the day they are granted.
		want := []engine.RevenueMonth{
			{Month: "2026-03", Invoiced: usd(5000 - 2581 + 50000), Credited: usd(500), Recognized: usd(5000 - 2581 + 2176 - 500)},
			{Month: "2026-04", Invoiced: usd(2000 - 1333 + 2667), Credited: usd(500), Recognized: usd(4080 + 2000 + 1334 - 500)},
			{Month: "2026-05", Invoiced: usd(0), Credited: usd(0), Recognized: usd(4216)},
			{Month: "2026-06", Invoiced: usd(1000), Credited: usd(0), Recognized: usd(4080 + 528)},
		}
		// Deferred at each month's end: what is invoiced and not yet
		// recognized; in June, Acme's 50000 − 14552 and Globex's July 472.
		deferred := []int64{47824, 43744, 39528, 35448 + 472}
		if len(r.Months) != len(want) {
			t.Fatalf("months %+v", r.Months)
		}
		var invoiced, credited, recognized int64
		for i, w := range want {
			w.Deferred = usd(deferred[i])
			if r.Months[i] != w {
				t.Errorf("month %d = %+v, want %+v", i, r.Months[i], w)
			}
			invoiced += r.Months[i].Invoiced.Amount
			credited += r.Months[i].Credited.Amount
			recognized += r.Months[i].Recognized.Amount
			// Recognized so far + deferred = invoiced − credited, always.
			if recognized+r.Months[i].Deferred.Amount != invoiced-credited {
				t.Errorf("%s: recognized %d + deferred %d ≠ invoiced %d − credited %d", w.Month, recognized,
					r.Months[i].Deferred.Amount, invoiced, credited)
			}
		}
		// Per plan: the plan in force when each invoice was issued; Globex's
		// whole 11 Apr change invoice (both lines) is Enterprise's.
		plans := map[string][]int64{}
		for _, p := range r.Plans {
			for _, m := range p.Recognized {
				plans[p.Key] = append(plans[p.Key], m.Amount)
			}
		}
		if got, w := plans[engine.PlanPremium], []int64{4095, 4080 + 2000 - 500, 4216, 4608}; !equal(got, w) {
			t.Errorf("premium %v, want %v", got, w)
		}
		if got, w := plans[engine.PlanEnterprise], []int64{0, 1334, 0, 0}; !equal(got, w) {
			t.Errorf("enterprise %v, want %v", got, w)
		}
		if len(r.Accounts) != 2 || r.Accounts[0].Key != "KB-000001" || r.Accounts[0].Total != usd(4095+4080+4216+4080) ||
			r.Accounts[1].Total != usd(2000+1334-500+528) {
			t.Errorf("accounts %+v", r.Accounts)
		}

		// One account's report holds only its own lines.
		one := reportRequest()
		one.AccountID = 2
		g, err := b.eng.Revenue(b.ctx, one)
		if err != nil {
			t.Fatal(err)
		}
		if g.Months[0].Invoiced != usd(0) || g.Months[1].Recognized != usd(2000+1334-500) || g.Months[3].Deferred != usd(472) {
			t.Errorf("Globex alone: %+v", g.Months)
		}
	}, signupCredit(500))
}

func TestReport_ReceivablesByAge(t *testing.T) {
	forEachStore(t, "2026-03-01T09:00:00Z", func(t *testing.T, b *bundle) {
		reportHistory(t, b)
		r, err := b.eng.Receivables(b.ctx, reportRequest())
		if err != nil {
			t.Fatal(err)
		}
		// As of 30 Jun, nothing collected: Acme $45.00 (its $5.00 credit
		// applied) due 1 Mar and $474.19 due 16 Mar, over 90 days; Globex
		// $15.00 due 1 Apr (90 days) and $13.34 due 11 Apr (80 days), 61–90;
		// $10.00 due 15 Jun, 1–30.
		want := map[billing.AgingBucket][2]int64{ // amount, invoices
			billing.AgingCurrent: {0, 0}, billing.Aging1to30: {1000, 1}, billing.Aging31to60: {0, 0},
			billing.Aging61to90: {1500 + 1334, 2}, billing.AgingOver90: {4500 + 47419, 2},
		}
		for _, row := range r.Buckets {
			if w := want[row.Bucket]; row.Amount != usd(w[0]) || row.Invoices != int(w[1]) {
				t.Errorf("%s: %v in %d invoices, want %d in %d", row.Bucket, row.Amount, row.Invoices, w[0], w[1])
			}
		}
		if r.Total != usd(55753) || len(r.Invoices) != 5 || r.Invoices[0].DaysLate != 121 || r.Invoices[0].Account.Number != "KB-000001" {
			t.Errorf("total %v, invoices %+v", r.Total, r.Invoices)
		}
		if acc := r.Buckets[4].Accounts; len(acc) != 1 || acc[0].Number != "KB-000001" {
			t.Errorf("90+ accounts %+v", acc)
		}
	}, signupCredit(500))
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// An account made on the real clock and then put on a test clock set in the
// past has its first change dated after the ones its clock makes: the change
// in force is the last recorded whose time has passed, not the latest time.
func TestReport_MRRWhenTheAccountsClockStartedInThePast(t *testing.T) {
	forEachStore(t, "2026-06-01T09:00:00Z", func(t *testing.T, b *bundle) {
		a := b.account(t, "Acme") // on Free, dated 1 Jun
		b.clock.Set(mustTime("2026-03-01T09:00:00Z"))
		b.confirm(t, a, premium(billing.Month, 2))
		b.clock.Set(mustTime("2026-06-15T09:00:00Z"))
		r, err := b.eng.MRR(b.ctx, reportRequest())
		if err != nil {
			t.Fatal(err)
		}
		if r.MRR != usd(2000) {
			t.Errorf("MRR now %v, want $20.00", r.MRR)
		}
		for _, m := range r.Months {
			if m.MRR != usd(2000) {
				t.Errorf("%s: %v, want $20.00", m.Month, m.MRR)
			}
		}
	})
}

func TestReport_CollectionsDunningFunnelAndRenewalsDue(t *testing.T) {
	forEachPayStore(t, "2026-03-10T12:00:00Z", func(t *testing.T, p *payEnv) {
		at := func(day string) { p.clock.Set(mustTime(day + "T12:00:00Z")) }
		good, declines := "4242 4242 4242 4242", "4000 0000 0000 0341"
		acme := p.newAccount(t, "Acme") // pays at once
		p.addCard(t, acme, good)
		p.upgrade(t, acme, 3)
		bravo := p.newAccount(t, "Bravo") // declined, then a new card pays
		p.addCard(t, bravo, declines)
		p.upgrade(t, bravo, 2)
		charlie := p.newAccount(t, "Charlie") // declined through every retry: suspended
		p.addCard(t, charlie, declines)
		p.upgrade(t, charlie, 1)
		at("2026-03-11")
		p.billNow(t, bravo)
		p.addCard(t, bravo, good)
		for _, day := range []string{"2026-03-11", "2026-03-13", "2026-03-15", "2026-03-17"} {
			at(day)
			p.billNow(t, charlie)
		}
		delta := p.newAccount(t, "Delta") // declined on 17 Mar, retries to come
		p.addCard(t, delta, declines)
		p.upgrade(t, delta, 4)
		at("2026-03-20")

		r, err := p.eng.Collections(p.ctx, engine.ReportRequest{From: billing.YearMonth{Year: 2026, Month: 3},
			To: billing.YearMonth{Year: 2026, Month: 3}})
		if err != nil {
			t.Fatal(err)
		}
		// Invoiced $30 + $20 + $10 + $40; collected Acme's $30 and Bravo's $20.
		if len(r.Months) != 1 || r.Months[0].Invoiced != usd(10000) || r.Months[0].Collected != usd(5000) {
			t.Errorf("months = %+v", r.Months)
		}
		want := map[string][]string{
			engine.DunningFailed: {"Bravo", "Charlie", "Delta"}, engine.DunningRecoveredRetry: nil,
			engine.DunningRecoveredCard: {"Bravo"}, engine.DunningRecoveredOther: nil,
			engine.DunningStillOpen: {"Delta"}, engine.DunningSuspended: {"Charlie"}, engine.DunningWrittenOff: nil,
		}
		for _, st := range r.Dunning {
			var names []string
			for _, a := range st.Accounts {
				names = append(names, a.Name)
			}
			if w := want[st.Stage]; st.Invoices != len(w) || strings.Join(names, ",") != strings.Join(w, ",") {
				t.Errorf("%s: %d invoices of %v, want %v", st.Stage, st.Invoices, names, w)
			}
		}
		// Renewals from 20 Mar to 19 Apr: Acme, Bravo and Charlie on 10 Apr,
		// Delta on 17 Apr; their next periods list at $30 + $20 + $10 + $40.
		rn := r.Renewals
		if rn.From != d("2026-03-20") || rn.To != d("2026-04-19") || rn.Count != 4 || rn.Amount != usd(10000) ||
			rn.Accounts[0].On != d("2026-04-10") || rn.Accounts[3].Account.Name != "Delta" || rn.Accounts[3].Amount != usd(4000) {
			t.Errorf("renewals = %+v", rn)
		}
	})
}
