package engine_test

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func benchStores(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.OpenSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.OpenPostgres(b)) })
}

// BenchmarkBillAccount_MonthlyRenewal is one account's renewal at its period
// end: the renewal step and the next period's invoice, each in its own
// transaction, plus the due check. One op is one account renewed.
func BenchmarkBillAccount_MonthlyRenewal(b *testing.B) {
	benchStores(b, func(b *testing.B, db *store.DB) {
		bd := newBundle(b, db, "2026-01-05T12:00:00Z")
		var accounts []*billing.Account
		for i := range b.N {
			a := &billing.Account{Name: fmt.Sprint("Co ", i), Domain: fmt.Sprintf("co%d.example.com", i)}
			if err := bd.eng.CreateAccount(bd.ctx, a); err != nil {
				b.Fatal(err)
			}
			if _, err := bd.eng.ConfirmChange(bd.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 5}); err != nil {
				b.Fatal(err)
			}
			accounts = append(accounts, a)
		}
		bd.clock.Advance(31 * 24 * time.Hour)
		b.ResetTimer()
		for _, a := range accounts {
			res, err := bd.eng.BillAccount(bd.ctx, a.ID)
			if err != nil || len(res.Steps) == 0 {
				b.Fatalf("bill %s: %v %+v", a.Number, err, res)
			}
		}
	})
}

// BenchmarkPreviewChange is the preview an admin sees before adding seats:
// the change planned on the account read in a read-only transaction.
func BenchmarkPreviewChange(b *testing.B) {
	benchStores(b, func(b *testing.B, db *store.DB) {
		bd := newBundle(b, db, "2026-01-05T12:00:00Z")
		a := &billing.Account{Name: "Acme", Domain: "acme.example.com"}
		if err := bd.eng.CreateAccount(bd.ctx, a); err != nil {
			b.Fatal(err)
		}
		if _, err := bd.eng.ConfirmChange(bd.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 5}); err != nil {
			b.Fatal(err)
		}
		bd.clock.Advance(10 * 24 * time.Hour)
		for b.Loop() {
			if _, err := bd.eng.PreviewChange(bd.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 12}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBillingRun_2000Renewals is `korebill bill` over 2,000 online
// accounts whose monthly renewal fell due, each paying by card through the
// test gateway: the run (engine.RunDue) in batches. One op is the whole run;
// use -benchtime=1x.
func BenchmarkBillingRun_2000Renewals(b *testing.B) {
	n := 2000
	if s := os.Getenv("KOREBILL_BENCH_ACCOUNTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	benchStores(b, func(b *testing.B, db *store.DB) {
		for b.Loop() {
			b.StopTimer()
			p := newPayEnv(b, db, "2026-01-05T12:00:00Z")
			for i := range n {
				a := &billing.Account{Name: fmt.Sprint("Co ", i), Domain: fmt.Sprintf("co%d-%d.example.com", i, time.Now().UnixNano())}
				if err := p.eng.CreateAccount(p.ctx, a); err != nil {
					b.Fatal(err)
				}
				if _, err := p.tryCard(a, "4242 4242 4242 4242", 12, 2030); err != nil {
					b.Fatal(err)
				}
				if _, err := p.eng.ConfirmChange(p.ctx, a.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 5}); err != nil {
					b.Fatal(err)
				}
			}
			p.clock.Advance(31 * 24 * time.Hour)
			b.StartTimer()
			start, cpu := time.Now(), cpuTime()
			sum, err := p.eng.RunDue(p.ctx, engine.RunOptions{})
			if err != nil || sum.Failed > 0 || sum.Invoices != n {
				b.Fatalf("run = %+v %v", sum, err)
			}
			billed := sum.Billed
			b.ReportMetric(float64(billed)/time.Since(start).Seconds(), "accounts/s")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(billed), "cpu-ms/account")
		}
	})
}

// cpuTime is the CPU time this process has used, user and system: a
// figure that holds on a machine shared with other work, where wall time
// does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
