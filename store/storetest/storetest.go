// Package storetest opens migrated, isolated stores for tests, so that every
// package can run its tests against both SQLite and PostgreSQL:
//
//	storetest.ForEach(t, func(t *testing.T, db *store.DB) { … })
//
// PostgreSQL runs only when KOREBILL_TEST_POSTGRES_URL names a database the
// tests may create schemas in, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each store gets
// its own schema, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// PostgresURLEnv names the environment variable with the PostgreSQL test
// database.
const PostgresURLEnv = "KOREBILL_TEST_POSTGRES_URL"

// Options configure a test store.
type Options struct {
	// Clock is the store's clock; nil means billing.SystemClock. ForEach
	// gives the same clock to both stores: a test that moves its clock
	// should make one per store with db.WithClock instead.
	Clock billing.Clock
}

func clockOf(opts []Options) billing.Clock {
	for _, o := range opts {
		if o.Clock != nil {
			return o.Clock
		}
	}
	return nil
}

// ForEach runs fn as the parallel subtests "sqlite" and "postgres", each
// with a fresh migrated store. The postgres subtest is skipped when
// KOREBILL_TEST_POSTGRES_URL is not set.
func ForEach(t *testing.T, fn func(t *testing.T, db *store.DB), opts ...Options) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, OpenSQLite(t, opts...))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, OpenPostgres(t, opts...))
	})
}

// OpenSQLite returns a migrated store in a new file in t.TempDir(), closed
// when the test ends.
func OpenSQLite(tb testing.TB, opts ...Options) *store.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "korebill.db")
	return open(tb, "sqlite://"+path, clockOf(opts))
}

// OpenPostgres returns a migrated store in a new schema of the database
// KOREBILL_TEST_POSTGRES_URL names, closed and dropped when the test ends;
// it skips the test when the variable is not set.
func OpenPostgres(tb testing.TB, opts ...Options) *store.DB {
	tb.Helper()
	return open(tb, PostgresURL(tb), clockOf(opts))
}

// RequireAllEnv, when set (as CI sets it), makes a test that would skip for
// want of a store or tool fail instead: in CI nothing may skip.
const RequireAllEnv = "KOREBILL_TEST_REQUIRE_ALL"

// SkipOrFail skips the test with reason, or fails it when RequireAllEnv is
// set.
func SkipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv(RequireAllEnv) != "" {
		tb.Fatalf("%s (and %s is set: nothing may skip)", reason, RequireAllEnv)
	}
	tb.Skip(reason)
}

// PostgresURL returns the URL of a new, empty schema of the database
// KOREBILL_TEST_POSTGRES_URL names, dropped when the test ends, for tests
// that open the store themselves (the binary's end-to-end tests). It skips
// the test when the variable is not set.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		SkipOrFail(tb, PostgresURLEnv+" not set")
	}
	admin, err := adminDB(base)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	schema := "kbtest_" + hex.EncodeToString(suffix[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("storetest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storetest: %s: %v", PostgresURLEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// open opens and migrates a store, closing it when the test ends (before
// the cleanups registered earlier, such as dropping its schema).
func open(tb testing.TB, url string, clock billing.Clock) *store.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url, clock, nil)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("storetest: %v", err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	return db
}

var admins sync.Map // url → *sql.DB, one small pool per test binary

// adminDB returns a connection to the test database for creating and
// dropping schemas; it lives as long as the test binary.
func adminDB(url string) (*sql.DB, error) {
	if db, ok := admins.Load(url); ok {
		return db.(*sql.DB), nil
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", PostgresURLEnv, err)
	}
	db.SetMaxOpenConns(2)
	if actual, loaded := admins.LoadOrStore(url, db); loaded {
		db.Close()
		return actual.(*sql.DB), nil
	}
	return db, nil
}
