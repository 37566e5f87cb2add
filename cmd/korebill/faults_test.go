package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/bench"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// The fault run: a billing run of many accounts through a test gateway that
// times out after charging, times out before charging, fails on its side
// or is slow on 10% of its charges, SIGKILLed again and again, then
// finished and reconciled. Every payment must end settled exactly once:
// none in flight, each charge the gateway made matched by one succeeded
// payment and none without its charge, no invoice charged twice, every
// invariant whole. KOREBILL_FAULT_ACCOUNTS sets the size (1,000 in CI;
// docs/reliability.md has a run of 10,000).

const faultProfile = "timeout_after_charge=0.03,timeout_before_charge=0.03,error=0.04,slow=0.1,slow_ms=20"

func faultAccounts(t *testing.T) int {
	n := 1000
	if s := os.Getenv("KOREBILL_FAULT_ACCOUNTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 100 {
			t.Fatalf("KOREBILL_FAULT_ACCOUNTS=%q: want a number of 100 or more", s)
		}
	}
	return n
}

func TestFaults_KilledBillingRunUnderGatewayFaultsSettlesEveryPaymentOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs korebill in child processes")
	}
	n := faultAccounts(t)
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "korebill.db") }},
		{"postgres", func(t *testing.T) string { return storetest.PostgresURL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) { faultRun(t, tc.url(t), n) })
	}
}

// faultStats is what a fault run counts from the database.
type faultStats struct {
	invoices, paid, open, payments, inFlight, succeeded int
}

func countFaultRun(t *testing.T, db *store.DB) faultStats {
	t.Helper()
	var s faultStats
	err := db.SQL().QueryRow(`SELECT
		(SELECT count(*) FROM invoices WHERE kind = 'subscription'),
		(SELECT count(*) FROM invoices WHERE kind = 'subscription' AND status = 'paid'),
		(SELECT count(*) FROM invoices WHERE kind = 'subscription' AND status = 'open'),
		(SELECT count(*) FROM payments),
		(SELECT count(*) FROM payments WHERE status IN ('pending', 'unknown')),
		(SELECT count(*) FROM payments WHERE status = 'succeeded')`).
		Scan(&s.invoices, &s.paid, &s.open, &s.payments, &s.inFlight, &s.succeeded)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func faultRun(t *testing.T, url string, n int) {
	ctx := context.Background()
	start := time.Now()
	if err := bench.Load(ctx, url, n, time.Now()); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d accounts due to renew in %s", n, time.Since(start).Round(time.Millisecond))
	db, err := store.Open(ctx, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ledger := filepath.Join(t.TempDir(), "gateway.jsonl")
	args := func(cmd string, faults bool) string {
		a := cmd + " --database-url " + url + " --gateway-ledger " + ledger + " --gateway-seed 7"
		if faults {
			a += " --gateway-faults " + faultProfile
		}
		return a
	}

	// Kill the run twelve times, at growing delays: the batched run commits
	// hundreds of accounts at once, so kills land before, inside and after
	// its transactions and gateway calls.
	start = time.Now()
	kills := 0
	for kills < 12 {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "KOREBILL_TEST_MAIN="+args("bill", true))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killed := false
		select {
		case <-exited:
		case <-time.After(time.Duration(150+80*kills) * time.Millisecond):
			_ = cmd.Process.Kill()
			<-exited
			killed = true
		}
		if !killed {
			break // the run finished before the kill
		}
		kills++
	}
	if kills < 10 {
		t.Fatalf("only %d kills landed before the run finished; make the run longer", kills)
	}
	if out, err := runChild(t, args("bill", true)); err != nil {
		t.Fatalf("the last billing run: %v\n%s", err, out)
	}
	billed := time.Since(start)
	mid := countFaultRun(t, db)

	// Reconcile until nothing is in flight (a resent charge can meet no
	// fault now: reconcile runs without the profile).
	start = time.Now()
	var first string
	for pass := 0; pass < 3; pass++ {
		out, err := runChild(t, args("reconcile --min-age 0", false))
		if err != nil {
			t.Fatalf("reconcile: %v\n%s", err, out)
		}
		if pass == 0 {
			first = strings.TrimSpace(out)
		}
		if countFaultRun(t, db).inFlight == 0 {
			break
		}
	}
	reconciled := time.Since(start)
	end := countFaultRun(t, db)

	// Every payment settled, exactly once.
	if end.inFlight != 0 {
		t.Errorf("%d payments still in flight after reconcile", end.inFlight)
	}
	if end.invoices != n {
		t.Errorf("%d renewal invoices for %d accounts", end.invoices, n)
	}
	gw := testgateway.New(nil)
	if err := gw.OpenLedger(ledger); err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	charged := map[string]testgateway.ChargeRecord{} // succeeded charges by key
	perInvoice := map[string]int{}
	var faulted int
	for _, c := range gw.Charges() {
		if c.Status == billing.ChargeSucceeded {
			charged[c.IdempotencyKey] = c
			perInvoice[c.InvoiceNumber]++
		} else if c.FailureCode == billing.FailureProcessingError {
			faulted++
		}
	}
	for inv, k := range perInvoice {
		if k > 1 {
			t.Errorf("invoice %s charged %d times at the gateway", inv, k)
		}
	}
	rows, err := db.SQL().Query(`SELECT coalesce(p.idempotency_key, ''), p.status, p.amount, p.gateway_ref, i.number, i.status, i.amount_paid, i.total
		FROM payments p JOIN invoices i ON i.id = p.invoice_id`)
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for rows.Next() {
		var key, status, ref, number, invStatus string
		var amount, paid, total int64
		if err := rows.Scan(&key, &status, &amount, &ref, &number, &invStatus, &paid, &total); err != nil {
			t.Fatal(err)
		}
		c, ok := charged[key]
		switch {
		case status == "succeeded" && !ok:
			t.Errorf("payment %s of %s succeeded with no charge at the gateway", key, number)
		case status != "succeeded" && ok:
			t.Errorf("payment %s of %s is %s but the gateway charged it (%s)", key, number, status, c.Ref)
		case ok && (c.Amount.Amount != amount || c.Ref != ref):
			t.Errorf("payment %s: %d %s, the gateway's charge: %s %s", key, amount, ref, c.Amount, c.Ref)
		case ok:
			matched++
		}
	}
	rows.Close()
	if matched != len(charged) {
		t.Errorf("%d charges at the gateway, %d matched by a succeeded payment", len(charged), matched)
	}
	if out, err := runChild(t, args("reconcile --min-age 0", false)); err != nil || !strings.Contains(out, "invariants: all hold") {
		t.Errorf("the books after the fault run: %v\n%s", err, out)
	}
	t.Logf("%d accounts, %d kills; billing %s, reconcile %s; %d payment attempts (%d in flight before reconcile), "+
		"%d charges at the gateway, each matched by one succeeded payment; %d processor errors; %d invoices paid, %d open (declined: on the retry schedule)",
		n, kills, billed.Round(time.Millisecond), reconciled.Round(time.Millisecond), end.payments, mid.inFlight,
		len(charged), faulted, end.paid, end.open)
	t.Logf("the first reconcile: %s", first)
}

// runChild runs korebill in a child process (TestMain) and returns what it
// printed.
func runChild(t *testing.T, args string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "KOREBILL_TEST_MAIN="+args)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
