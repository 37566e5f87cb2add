package main_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store"
)

// TestMain lets a test run korebill itself in a child process (the test
// binary, re-executed with KOREBILL_TEST_MAIN set to the arguments), so that
// a test can kill it with SIGKILL mid-run, as a crash would.
func TestMain(m *testing.M) {
	if args := os.Getenv("KOREBILL_TEST_MAIN"); args != "" {
		km := main.NewMain()
		km.Stdout, km.Stderr = os.Stdout, io.Discard
		if err := km.ParseFlags(context.Background(), strings.Fields(args)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		err := km.Run(context.Background())
		km.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fingerprint is every invoice of a database, without its number: account,
// kind, period and lines, sorted.
func fingerprint(t *testing.T, path string) (rows []string, numbers []string) {
	t.Helper()
	db, err := store.Open(context.Background(), path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.SQL().Query(`SELECT a.number, i.kind, i.period_start, i.period_end, i.total, i.status, coalesce(i.number, ''),
		(SELECT group_concat(l.amount, ',') FROM invoice_lines l WHERE l.invoice_id = i.id)
		FROM invoices i JOIN accounts a ON a.id = i.account_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var acct, kind, start, end, status, number, lines string
		var total int64
		if err := r.Scan(&acct, &kind, &start, &end, &total, &status, &number, &lines); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, fmt.Sprintf("%s %s %s–%s %d %s [%s]", acct, kind, start, end, total, status, lines))
		numbers = append(numbers, number)
	}
	sort.Strings(rows)
	sort.Strings(numbers)
	return rows, numbers
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A billing run killed with SIGKILL again and again, then run to the end,
// leaves exactly the invoices of a run that was never interrupted: nothing
// lost, nothing twice, and the invoice numbers still gapless.
func TestBill_KilledMidRunThenRerunBillsExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs korebill in child processes")
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	if out, err := runCmd(t, "migrate", "--database-url", base); err != nil {
		t.Fatal(err, out)
	}
	// The demo's history, then its clock moved on a year without billing:
	// about fifty steps of work are due.
	m := main.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--database-url", base}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-m.Ready
	clock, err := m.DB.FindTestClock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DB.SetTestClockNow(ctx, 1, clock.Now.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.Close()

	reference, crashed := filepath.Join(dir, "reference.db"), filepath.Join(dir, "crashed.db")
	copyFile(t, base, reference)
	copyFile(t, base, crashed)
	if out, err := runCmd(t, "bill", "--database-url", reference); err != nil {
		t.Fatal(err, out)
	}

	countInvoices := func() int {
		rows, _ := fingerprint(t, crashed)
		return len(rows)
	}
	before := countInvoices()
	kills, partial := 0, 0
	for delay := 10 * time.Millisecond; delay < 3*time.Second; delay += 15 * time.Millisecond {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "KOREBILL_TEST_MAIN=bill --database-url "+crashed)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited: // finished before the kill: all billed
		case <-time.After(delay):
			_ = cmd.Process.Kill()
			<-exited
			kills++
			if n := countInvoices(); n > before {
				partial++ // killed after it had billed some, and not all
			}
			continue
		}
		break
	}
	if partial == 0 {
		t.Fatalf("none of %d kills landed after billing had begun; lower the delays", kills)
	}
	if out, err := runCmd(t, "bill", "--database-url", crashed); err != nil {
		t.Fatal(err, out)
	}

	want, wantNumbers := fingerprint(t, reference)
	got, gotNumbers := fingerprint(t, crashed)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after %d kills the invoices differ from an uninterrupted run:\n got  %d invoices\n want %d invoices", kills, len(got), len(want))
		for i := range max(len(got), len(want)) {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("  got  %s\n  want %s", g, w)
			}
		}
	}
	// Gapless: the same numbers as the uninterrupted run, no gap, no repeat.
	if strings.Join(gotNumbers, " ") != strings.Join(wantNumbers, " ") {
		t.Errorf("invoice numbers differ from the uninterrupted run (a gap or a repeat):\n got  %v\n want %v", gotNumbers, wantNumbers)
	}
	// And the books hold every invariant reconcile checks.
	if out, err := runCmd(t, "reconcile", "--min-age", "0", "--database-url", crashed); err != nil {
		t.Errorf("reconcile after the kills: %v\n%s", err, out)
	}
	t.Logf("%d kills, %d of them with billing under way; %d invoices", kills, partial, len(got))
}
