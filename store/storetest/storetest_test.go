package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

func TestForEach_MigratedStoresWithTheGivenClock(t *testing.T) {
	t.Parallel()
	clock := billing.NewFixedClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		a := &billing.Account{Name: "Acme", Domain: "acme.test"}
		if err := db.CreateAccount(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if !a.CreatedAt.Equal(clock.Now()) || a.Number != "KB-000001" {
			t.Fatalf("created %+v", a)
		}
	}, storetest.Options{Clock: clock})
}

func TestOpenPostgres_IsolatedSchemaDroppedAfterTheTest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var schemas []string
	for range 2 {
		t.Run("open", func(t *testing.T) {
			db := storetest.OpenPostgres(t)
			if db.Dialect() != store.DialectPostgres {
				t.Fatalf("dialect = %s", db.Dialect())
			}
			var schema string
			if err := db.SQL().QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
				t.Fatal(err)
			}
			schemas = append(schemas, schema)
			if err := db.CreateAccount(ctx, &billing.Account{Name: "Acme", Domain: "acme.test"}); err != nil {
				t.Fatal(err)
			}
			// Each schema has its own tables and its own account numbers.
			if a, err := db.FindAccountByNumber(ctx, "KB-000001"); err != nil || a.Name != "Acme" {
				t.Fatalf("find: %+v, %v", a, err)
			}
		})
	}
	if len(schemas) != 2 { // skipped: no PostgreSQL
		return
	}
	if schemas[0] == schemas[1] {
		t.Fatalf("both stores used schema %s", schemas[0])
	}
	probe := storetest.OpenPostgres(t)
	for _, s := range schemas {
		var exists bool
		if err := probe.SQL().QueryRowContext(ctx,
			"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Errorf("schema %s outlived its test", s)
		}
	}
}
