package main_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store"
)

// demoDatabase makes the demo's database (seven months of history) at path
// and stops.
func demoDatabase(t *testing.T, path string) {
	t.Helper()
	m := main.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	if err := m.ParseFlags(context.Background(), []string{"demo", "--addr", "127.0.0.1:0", "--database-url", path}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case <-m.Ready:
	case err := <-done:
		t.Fatalf("demo stopped: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.Close()
}

// TestBackup_RestoredCopyPassesReconcile: `korebill backup FILE` copies the
// demo's database while it is open; the copy opens as a database and
// `korebill reconcile` finds every invariant holding. A copy whose credit
// balance is tampered with makes reconcile name the break and fail.
func TestBackup_RestoredCopyPassesReconcile(t *testing.T) {
	dir := t.TempDir()
	live, backup := filepath.Join(dir, "live.db"), filepath.Join(dir, "backup.db")
	demoDatabase(t, live)
	// The live database stays open (as a running server holds it) while
	// the backup is taken.
	db, err := store.Open(context.Background(), live, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if out, err := runCmd(t, "backup", "--database-url", live, backup); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "backup", "--database-url", live, backup); err == nil {
		t.Fatalf("a second backup overwrote the first:\n%s", out)
	}
	out, err := runCmd(t, "reconcile", "--min-age", "0", "--database-url", backup)
	if err != nil || !strings.Contains(out, "invariants: all hold") {
		t.Fatalf("reconcile of the restored copy: %v\n%s", err, out)
	}
	var invoices int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM invoices`).Scan(&invoices); err != nil || invoices == 0 {
		t.Fatalf("live invoices = %d, %v", invoices, err)
	}

	tampered, err := store.Open(context.Background(), backup, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tampered.SQL().Exec(`UPDATE accounts SET credit_balance = credit_balance + 1 WHERE number = 'KB-000001'`); err != nil {
		t.Fatal(err)
	}
	tampered.Close()
	out, err = runCmd(t, "reconcile", "--min-age", "0", "--database-url", backup)
	if err == nil || !strings.Contains(out, "credit_balance: KB-000001") {
		t.Fatalf("reconcile of a tampered copy = %v\n%s", err, out)
	}
}
