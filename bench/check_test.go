package bench

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"

	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// loaded opens a store at url, loads n accounts at LoadSchemaVersion and
// migrates the rest, as the bench does before its run.
func loaded(t *testing.T, url string, n int) *conn {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &conn{dialect: db.Dialect(), db: db}
	if c.postgres() {
		if c.pg, err = pgx.Connect(ctx, url); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.pg.Close(ctx) })
	}
	if err := db.MigrateTo(ctx, LoadSchemaVersion); err != nil {
		t.Fatal(err)
	}
	if err := c.load(ctx, n, time.Now(), progressbar.NewOptions(n, progressbar.OptionSetWriter(io.Discard))); err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func forEachURL(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, filepath.Join(t.TempDir(), "korebill.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.PostgresURL(t))
	})
}

// The check is what makes the bench fail on a wrong result: with the
// accounts loaded and nothing billed, it must say so.
func TestCheck_NothingBilledFails(t *testing.T) {
	forEachURL(t, func(t *testing.T, url string) {
		c := loaded(t, url, 7)
		ck, err := c.check(context.Background(), 7)
		if err != nil {
			t.Fatal(err)
		}
		if ck.OK() || ck.Accounts != 7 || ck.RenewalInvoices != 0 {
			t.Fatalf("check of an unbilled database: %+v", ck)
		}
		if got := strings.Join(ck.Problems, "; "); !strings.Contains(got, "0 accounts with exactly one renewal invoice, want 7") {
			t.Errorf("problems: %s", got)
		}
	})
}

// The floor copies exactly the rows added since the marks, into scratch
// tables that it drops again.
func TestFloor_CopiesTheNewRowsAndDropsItsTables(t *testing.T) {
	forEachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		c := loaded(t, url, 3)
		before, err := c.marks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.sql().ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, target_type, target_id, account_id)
			VALUES ($1, 'bench', 'x', 'account', 'KB-000001', 1), ($1, 'bench', 'y', 'account', 'KB-000002', 2)`,
			c.ts(time.Now())); err != nil {
			t.Fatal(err)
		}
		ws, unknown, err := c.written(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) != 1 || ws[0].table != "audit_events" || ws[0].rows != 2 || len(unknown) != 0 {
			t.Fatalf("written: %+v, unknown %v", ws, unknown)
		}
		if _, err := c.floor(ctx, ws, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		tables, err := c.tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, tb := range tables {
			all.WriteString(tb + " ")
		}
		if strings.Contains(all.String(), floorPrefix) {
			t.Errorf("scratch tables left: %s", all.String())
		}
	})
}
