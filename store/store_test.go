package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// t0 is every test's starting time: not UTC and with nanoseconds, so that
// the tests see the store keep times as UTC microseconds on both engines.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.FixedZone("IST", 5*3600+1800))

// stored is t as the store keeps it.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// forEachStore runs fn against a fresh SQLite store and, when
// KOREBILL_TEST_POSTGRES_URL is set, a fresh PostgreSQL one, each with its
// own clock stopped at t0.
func forEachStore(t *testing.T, fn func(t *testing.T, db *store.DB, clock *billing.FixedClock)) {
	t.Helper()
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		clock := billing.NewFixedClock(t0)
		fn(t, db.WithClock(clock), clock)
	})
}

// as returns a context whose actor is name.
func as(name string) context.Context {
	return billing.NewContextWithActor(context.Background(), billing.Actor{Name: name, Role: billing.RoleOperator})
}

// count returns the number of rows of a table.
func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rowCounts returns the row count of every table a test may write to.
func rowCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, table := range []string{"accounts", "billing_profiles", "plans", "plan_versions", "plan_prices",
		"managed_users", "audit_events", "api_keys"} {
		m[table] = count(t, db, table)
	}
	return m
}

// assertNothingWritten checks that fn fails with code and changes no table.
func assertNothingWritten(t *testing.T, db *store.DB, code string, fn func() error) error {
	t.Helper()
	before := rowCounts(t, db)
	err := fn()
	if got := billing.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	if after := rowCounts(t, db); !reflect.DeepEqual(before, after) {
		t.Fatalf("rows changed by a failed call: before %v, after %v", before, after)
	}
	return err
}

// assertCode fails unless err carries code.
func assertCode(t *testing.T, err error, code string) *billing.Error {
	t.Helper()
	var e *billing.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %q", err, code)
	}
	return e
}

// newAccount creates an account named name on domain.
func newAccount(t *testing.T, db *store.DB, name, domain string) *billing.Account {
	t.Helper()
	a := &billing.Account{Name: name, Domain: domain}
	if err := db.CreateAccount(as("user:ops@kore.test"), a); err != nil {
		t.Fatalf("create account %s: %v", name, err)
	}
	return a
}

// lastEvent returns the newest audit event and checks that there are want
// events in all.
func lastEvent(t *testing.T, db *store.DB, want int) *billing.AuditEvent {
	t.Helper()
	if n := count(t, db, "audit_events"); n != want {
		t.Fatalf("audit events = %d, want %d", n, want)
	}
	events, err := db.FindAuditEvents(context.Background(), billing.AuditFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no audit events")
	}
	return events[0]
}

// assertJSON checks that raw holds the same JSON value as want (a JSON
// string, or "" for none).
func assertJSON(t *testing.T, name string, raw json.RawMessage, want string) {
	t.Helper()
	if want == "" {
		if raw != nil {
			t.Fatalf("%s = %s, want none", name, raw)
		}
		return
	}
	var got, exp any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s = %q: %v", name, raw, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("%s = %s, want %s", name, raw, want)
	}
}

func TestOpen_SQLiteURLForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite://" + filepath.Join(dir, "a", "b", "korebill.db"),
		filepath.Join(dir, "plain", "korebill.db"),
		"sqlite:" + filepath.Join(dir, "short.db"),
	} {
		db, err := store.Open(ctx, url, nil, nil)
		if err != nil {
			t.Fatalf("Open(%q): %v", url, err)
		}
		if db.Dialect() != store.DialectSQLite {
			t.Errorf("Dialect() = %q", db.Dialect())
		}
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: %v", err)
		}
		var mode string
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		var fk int
		if err := db.SQL().QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "b", "korebill.db")); err != nil {
		t.Errorf("database file not created in a new directory: %v", err)
	}
	for _, url := range []string{"mysql://localhost/db", ":memory:", "sqlite://"} {
		if db, err := store.Open(ctx, url, nil, nil); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", url)
		}
	}
}

func TestMigrate_Idempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		current, latest, err := db.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if current != latest || current < 1 {
			t.Fatalf("migration version = %d of %d", current, latest)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if d := db.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
			t.Fatalf("Dialect() = %q", d)
		}
	})
}

func TestWithClock_SharesConnections(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		later := billing.NewFixedClock(t0.Add(48 * time.Hour))
		copy := db.WithClock(later)
		a := newAccount(t, copy, "Acme", "acme.test")
		if err := copy.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindAccountByID(context.Background(), a.ID)
		if err != nil {
			t.Fatalf("original unusable after closing the copy: %v", err)
		}
		if !got.CreatedAt.Equal(stored(later.Now())) {
			t.Fatalf("CreatedAt = %v, want the copy's clock %v", got.CreatedAt, later.Now())
		}
	})
}

func TestTimes_RoundTripAsUTCMicroseconds(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		want := stored(t0)
		if a.CreatedAt != want || a.UpdatedAt != want {
			t.Fatalf("returned CreatedAt %v UpdatedAt %v, want %v", a.CreatedAt, a.UpdatedAt, want)
		}
		got, err := db.FindAccountByID(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CreatedAt != want || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("read CreatedAt %v (%v), want %v UTC", got.CreatedAt, got.CreatedAt.Location(), want)
		}
		ev := lastEvent(t, db, 1)
		if ev.At != want {
			t.Fatalf("audit At = %v, want %v", ev.At, want)
		}
		// Times sort as they compare, also across a change of year digits.
		clock.Set(time.Date(10, 1, 1, 0, 0, 0, 0, time.UTC))
		early := newAccount(t, db, "Early", "early.test")
		clock.Set(time.Date(2025, 3, 14, 4, 0, 0, 1000, time.UTC))
		newAccount(t, db, "Later", "later.test")
		var first int64
		if err := db.SQL().QueryRowContext(context.Background(),
			"SELECT id FROM accounts ORDER BY created_at LIMIT 1").Scan(&first); err != nil {
			t.Fatal(err)
		}
		if first != early.ID {
			t.Fatalf("earliest created_at is account %d, want %d", first, early.ID)
		}
	})
}

func TestActor_DefaultsToSystem(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		if err := db.CreateAccount(context.Background(), &billing.Account{Name: "Acme", Domain: "acme.test"}); err != nil {
			t.Fatal(err)
		}
		if ev := lastEvent(t, db, 1); ev.Actor != "system" {
			t.Fatalf("actor = %q, want system", ev.Actor)
		}
	})
}

func TestErrors_NotFoundMessagesNameTheThing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		_, err := db.FindAccountByNumber(ctx, "KB-000042")
		if e := assertCode(t, err, billing.ENOTFOUND); e.Message != "Account KB-000042 not found." {
			t.Fatalf("message = %q", e.Message)
		}
		_, err = db.FindPlanByCode(ctx, "gold")
		if e := assertCode(t, err, billing.ENOTFOUND); !strings.Contains(e.Message, `"gold"`) {
			t.Fatalf("message = %q", e.Message)
		}
	})
}
