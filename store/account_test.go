package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func ptr[T any](v T) *T { return &v }

func TestCreateAccount_SequentialNumbersActiveWithNoCredit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("user:ops@kore.test")
		for i := 1; i <= 3; i++ {
			a := &billing.Account{Name: fmt.Sprintf(" Company %d ", i), Domain: fmt.Sprintf("C%d.Example.COM", i),
				Currency: "EUR", TimeZone: "Europe/Paris", Status: billing.StatusSuspended,
				CreditBalance: billing.NewMoney(500, "EUR")}
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			want := billing.Account{
				ID: a.ID, Number: fmt.Sprintf("KB-%06d", i), Name: fmt.Sprintf("Company %d", i),
				Domain: fmt.Sprintf("c%d.example.com", i), BillingType: billing.BillingOnline,
				AccountType: billing.AccountEnterprise, Currency: "EUR", TimeZone: "Europe/Paris",
				Status: billing.StatusActive, CreditBalance: billing.Zero("EUR"),
				CreatedAt: stored(clock.Now()), UpdatedAt: stored(clock.Now()),
			}
			if a.ID == 0 || !reflect.DeepEqual(*a, want) {
				t.Fatalf("created\n %+v\nwant\n %+v", *a, want)
			}
			byNumber, err := db.FindAccountByNumber(ctx, want.Number)
			if err != nil {
				t.Fatal(err)
			}
			byID, err := db.FindAccountByID(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*byNumber, want) || !reflect.DeepEqual(*byID, want) {
				t.Fatalf("read back\n %+v\n %+v\nwant\n %+v", *byNumber, *byID, want)
			}
			clock.Advance(time.Hour)
		}
	})
}

func TestCreateAccount_WritesOneAuditEvent(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		ev := lastEvent(t, db, 1)
		if ev.Actor != "user:ops@kore.test" || ev.Action != "account.create" || ev.TargetType != "account" ||
			ev.TargetID != "KB-000001" || ev.AccountID == nil || *ev.AccountID != a.ID || ev.At != stored(t0) {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, "")
		assertJSON(t, "after", ev.After, `{"number":"KB-000001","name":"Acme","domain":"acme.test",
			"billing_type":"online","account_type":"enterprise","currency":"USD","time_zone":"UTC",
			"status":"active","credit_balance":{"amount":0,"currency":"USD"}}`)
	})
}

func TestCreateAccount_InvalidWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		err := assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.CreateAccount(as("x"), &billing.Account{Name: "", Domain: "not a domain", TimeZone: "Mars/Base"})
		})
		e := assertCode(t, err, billing.EINVALID)
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, f.Field)
		}
		if !slices.Equal(fields, []string{"name", "domain", "time_zone"}) {
			t.Fatalf("fields = %v", fields)
		}
		// A refused account takes no number.
		if a := newAccount(t, db, "Acme", "acme.test"); a.Number != "KB-000001" {
			t.Fatalf("number = %s, want KB-000001", a.Number)
		}
	})
}

func TestCreateAccount_ConcurrentCallsGetDistinctNumbers(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		const n = 10
		numbers := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				a := &billing.Account{Name: fmt.Sprintf("Company %d", i), Domain: fmt.Sprintf("c%d.test", i)}
				errs[i] = db.CreateAccount(as("platform"), a)
				numbers[i] = a.Number
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		slices.Sort(numbers)
		if len(slices.Compact(slices.Clone(numbers))) != n {
			t.Fatalf("numbers not distinct: %v", numbers)
		}
		for i, num := range numbers {
			if want := billing.FormatAccountNumber(int64(i + 1)); num != want {
				t.Fatalf("numbers = %v, want KB-000001…KB-%06d", numbers, n)
			}
		}
		if c := count(t, db, "accounts"); c != n {
			t.Fatalf("accounts = %d", c)
		}
		if c := count(t, db, "audit_events"); c != n {
			t.Fatalf("audit events = %d", c)
		}
	})
}

func TestFindAccount_NotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		newAccount(t, db, "Acme", "acme.test")
		_, err := db.FindAccountByNumber(ctx, "KB-000002")
		if e := assertCode(t, err, billing.ENOTFOUND); e.Message != "Account KB-000002 not found." {
			t.Fatalf("message = %q", e.Message)
		}
		_, err = db.FindAccountByID(ctx, 999)
		assertCode(t, err, billing.ENOTFOUND)
	})
}

func TestUpdateAccount_ChangesFieldsAndAudits(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		clock.Advance(time.Hour)
		got, err := db.UpdateAccount(as("key:kb_ops"), a.ID, billing.AccountUpdate{
			Name: ptr("Acme Corp"), Domain: ptr("ACME.example"), TimeZone: ptr("Asia/Tokyo"),
			Status: ptr(billing.StatusPastDue), AccountType: ptr(billing.AccountIndividual),
		})
		if err != nil {
			t.Fatal(err)
		}
		want := *a
		want.Name, want.Domain, want.TimeZone = "Acme Corp", "acme.example", "Asia/Tokyo"
		want.Status, want.AccountType = billing.StatusPastDue, billing.AccountIndividual
		want.UpdatedAt = stored(clock.Now())
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("updated\n %+v\nwant\n %+v", *got, want)
		}
		read, err := db.FindAccountByID(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*read, want) {
			t.Fatalf("read back\n %+v\nwant\n %+v", *read, want)
		}
		ev := lastEvent(t, db, 2)
		if ev.Action != "account.update" || ev.Actor != "key:kb_ops" || ev.TargetID != a.Number || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, `{"number":"KB-000001","name":"Acme","domain":"acme.test",
			"billing_type":"online","account_type":"enterprise","currency":"USD","time_zone":"UTC",
			"status":"active","credit_balance":{"amount":0,"currency":"USD"}}`)
		assertJSON(t, "after", ev.After, `{"number":"KB-000001","name":"Acme Corp","domain":"acme.example",
			"billing_type":"online","account_type":"individual","currency":"USD","time_zone":"Asia/Tokyo",
			"status":"past_due","credit_balance":{"amount":0,"currency":"USD"}}`)

		// The same values again change nothing and write nothing.
		clock.Advance(time.Hour)
		same, err := db.UpdateAccount(as("x"), a.ID, billing.AccountUpdate{Name: ptr("Acme Corp")})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*same, want) {
			t.Fatalf("no-op update returned %+v", *same)
		}
		lastEvent(t, db, 2)
	})
}

func TestUpdateAccount_InvalidOrUnknownWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		err := assertNothingWritten(t, db, billing.EINVALID, func() error {
			_, err := db.UpdateAccount(as("x"), a.ID, billing.AccountUpdate{Name: ptr("Renamed"), TimeZone: ptr("Nowhere")})
			return err
		})
		if e := assertCode(t, err, billing.EINVALID); len(e.Fields) != 1 || e.Fields[0].Field != "time_zone" {
			t.Fatalf("fields = %+v", e.Fields)
		}
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error {
			_, err := db.UpdateAccount(as("x"), a.ID+100, billing.AccountUpdate{Name: ptr("Renamed")})
			return err
		})
		if got, _ := db.FindAccountByID(context.Background(), a.ID); got.Name != "Acme" {
			t.Fatalf("name = %q after failed updates", got.Name)
		}
	})
}

func TestFindAccounts_SearchFiltersAndPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := as("ops")
		mk := func(name, domain string, bt billing.BillingType) *billing.Account {
			a := &billing.Account{Name: name, Domain: domain, BillingType: bt}
			if err := db.CreateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			return a
		}
		acme := mk("Acme Widgets", "acme.test", billing.BillingOnline)                // KB-000001
		globex := mk("Globex", "globex.example", billing.BillingSubscription)         // KB-000002
		initech := mk("Initech 100% Pure", "initech.test", billing.BillingOnline)     // KB-000003
		umbrella := mk("Umbrella", "umbrella-corp.test", billing.BillingSubscription) // KB-000004
		if err := db.SetProfile(ctx, &billing.BillingProfile{
			AccountID: globex.ID, CompanyName: "Globex Corporation", ContactName: "Hank Scorpio",
			Address: billing.Address{Line1: "1 Cypress Creek", City: "Springfield", Country: "US"},
			Phone:   "+1 415 555 0100", Email: "Billing@Cypress-Creek.test",
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UpdateAccount(ctx, umbrella.ID, billing.AccountUpdate{Status: ptr(billing.StatusSuspended)}); err != nil {
			t.Fatal(err)
		}

		numbers := func(accounts []*billing.Account) []string {
			var out []string
			for _, a := range accounts {
				out = append(out, a.Number)
			}
			return out
		}
		for _, tc := range []struct {
			name  string
			f     billing.AccountFilter
			want  []string
			total int
		}{
			{"all", billing.AccountFilter{}, []string{"KB-000001", "KB-000002", "KB-000003", "KB-000004"}, 4},
			{"name, any case", billing.AccountFilter{Query: "  WIDGET "}, []string{acme.Number}, 1},
			{"domain", billing.AccountFilter{Query: "corp.te"}, []string{umbrella.Number}, 1},
			{"number", billing.AccountFilter{Query: "kb-000003"}, []string{initech.Number}, 1},
			{"profile email", billing.AccountFilter{Query: "cypress-CREEK"}, []string{globex.Number}, 1},
			{"wildcards are literal", billing.AccountFilter{Query: "100%"}, []string{initech.Number}, 1},
			{"underscore is literal", billing.AccountFilter{Query: "a_m"}, nil, 0},
			{"percent alone", billing.AccountFilter{Query: "%"}, []string{initech.Number}, 1},
			{"status", billing.AccountFilter{Status: ptr(billing.StatusSuspended)}, []string{umbrella.Number}, 1},
			{"billing type", billing.AccountFilter{BillingType: ptr(billing.BillingSubscription)},
				[]string{globex.Number, umbrella.Number}, 2},
			{"query and filters", billing.AccountFilter{Query: ".test", Status: ptr(billing.StatusActive),
				BillingType: ptr(billing.BillingOnline)}, []string{acme.Number, initech.Number}, 2},
			{"page", billing.AccountFilter{Limit: 2, Offset: 1}, []string{"KB-000002", "KB-000003"}, 4},
			{"past the end", billing.AccountFilter{Limit: 2, Offset: 10}, nil, 4},
			{"negative offset", billing.AccountFilter{Limit: 1, Offset: -5}, []string{"KB-000001"}, 4},
		} {
			got, total, err := db.FindAccounts(context.Background(), tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !slices.Equal(numbers(got), tc.want) || total != tc.total {
				t.Errorf("%s: got %v (total %d), want %v (total %d)", tc.name, numbers(got), total, tc.want, tc.total)
			}
		}
		got, _, err := db.FindAccounts(context.Background(), billing.AccountFilter{Query: "globex"})
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].CreatedAt, globex.CreatedAt) || got[0].Name != "Globex" {
			t.Fatalf("found %+v, %v", got, err)
		}
	})
}

func TestFindAccounts_DefaultAndMaximumLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		// Insert directly: 501 accounts through CreateAccount would be slow.
		ctx := context.Background()
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() // a failed test must not hold the write lock
		ts := any("2025-01-01T00:00:00.000000000Z")
		if db.Dialect() == store.DialectPostgres {
			ts = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		for i := 1; i <= 501; i++ {
			_, err := tx.ExecContext(ctx, `INSERT INTO accounts (number, name, domain, billing_type, account_type,
				currency, time_zone, status, credit_balance, created_at, updated_at)
				VALUES ($1, $2, $3, 'online', 'enterprise', 'USD', 'UTC', 'active', 0, $4, $4)`,
				billing.FormatAccountNumber(int64(i*2000)), fmt.Sprint("A", i), fmt.Sprintf("a%d.test", i), ts)
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		page, total, err := db.FindAccounts(ctx, billing.AccountFilter{})
		if err != nil || len(page) != 50 || total != 501 {
			t.Fatalf("default page: %d of %d, %v", len(page), total, err)
		}
		page, _, err = db.FindAccounts(ctx, billing.AccountFilter{Limit: 10000})
		if err != nil || len(page) != 500 {
			t.Fatalf("max page: %d, %v", len(page), err)
		}
		// Numbers past six digits sort after the six-digit ones.
		if page[0].Number != "KB-002000" || page[498].Number != "KB-998000" || page[499].Number != "KB-1000000" {
			t.Fatalf("order: %s, %s, %s", page[0].Number, page[498].Number, page[499].Number)
		}
	})
}
