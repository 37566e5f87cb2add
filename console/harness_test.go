package console_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/store"
)

// The people every test signs in as, and their passwords.
const (
	operatorEmail = "ops@kore.test"
	ownerEmail    = "ada@acme.test"
	viewerEmail   = "vic@acme.test"
	globexEmail   = "gina@globex.test"
	password      = "correct horse battery staple"
)

// bundle is what setup makes: the real handler (API and console on one
// mux, behind the API's Wrap) on a loopback server, over db, with two
// accounts and their people.
type bundle struct {
	db      *store.DB
	eng     *engine.Engine
	clock   *billing.FixedClock // the engine's: "today" for billing
	gateway *testgateway.Gateway
	srv     *httptest.Server
	console *console.Server
	acme    *billing.Account
	globex  *billing.Account
}

// engineStart is the engine's time when a test starts: a fixed day, so that
// amounts and dates are the same on every run (10 March 2027, 15:00 UTC).
var engineStart = time.Date(2027, time.March, 10, 15, 0, 0, 0, time.UTC)

func setup(t *testing.T, db *store.DB, configure ...func(*console.Config)) *bundle {
	t.Helper()
	ctx := billing.NewContextWithActor(context.Background(), billing.Actor{Name: "test", Role: billing.RoleOperator})
	b := &bundle{db: db, clock: billing.NewFixedClock(engineStart)}
	b.gateway = testgateway.New(b.clock)
	eng, err := engine.New(engine.Config{DB: db, Clock: b.clock, Gateway: b.gateway})
	if err != nil {
		t.Fatal(err)
	}
	holdsAtEnd(t, eng)
	if err := eng.SeedCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	b.eng = eng
	b.acme = &billing.Account{Name: "Acme Corp", Domain: "acme.test", TimeZone: "America/New_York"}
	b.globex = &billing.Account{Name: "Globex", Domain: "globex.test", Currency: "EUR", TimeZone: "Europe/Berlin"}
	for _, a := range []*billing.Account{b.acme, b.globex} {
		if err := db.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*store.ConsoleUser{
		{Email: operatorEmail, Name: "Olive Operator", Role: billing.RoleOperator},
		{Email: ownerEmail, Name: "Ada Lovelace", Role: billing.RoleOwner, AccountID: b.acme.ID},
		{Email: viewerEmail, Name: "Vic Viewer", Role: billing.RoleViewer, AccountID: b.acme.ID},
		{Email: globexEmail, Name: "Gina", Role: billing.RoleBillingAdmin, AccountID: b.globex.ID},
	} {
		if err := db.CreateConsoleUser(ctx, u, password); err != nil {
			t.Fatal(err)
		}
	}

	apiServer := api.New(api.Config{Services: api.Services{
		Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db,
	}})
	cfg := console.Config{
		Services: console.Services{Accounts: db, Profiles: db, Audit: db, Users: db, Engine: eng},
		Sessions: db.Sessions(),
		Logger:   slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range configure {
		f(&cfg)
	}
	cs, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs.Register(apiServer.Mux())
	b.console = cs
	b.srv = httptest.NewServer(apiServer.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

// holdsAtEnd checks, when the test ends well, every invariant that
// `korebill reconcile` checks: each scenario ends with the books whole.
func holdsAtEnd(t *testing.T, eng *engine.Engine) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		breaks, err := eng.CheckInvariants(context.Background())
		if err != nil {
			t.Errorf("check invariants: %v", err)
		} else if len(breaks) > 0 {
			t.Errorf("invariants broken:\n%s", engine.FormatBreaks(breaks))
		}
	})
}

// acmeProfile is a valid billing profile for Acme.
func (b *bundle) setAcmeProfile(t *testing.T) {
	t.Helper()
	ctx := billing.NewContextWithActor(context.Background(), billing.Actor{Name: "test", Role: billing.RoleOperator})
	err := b.db.SetProfile(ctx, &billing.BillingProfile{
		AccountID: b.acme.ID, CompanyName: "Acme Corp", ContactName: "Ada Lovelace",
		Address: billing.Address{Line1: "1 Market St", City: "San Francisco", Region: "CA", PostalCode: "94105", Country: "US"},
		Phone:   "+14155550132", Email: "billing@acme.test", InvoiceEmails: []string{"ap@acme.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testLog writes the console's warnings and errors to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
