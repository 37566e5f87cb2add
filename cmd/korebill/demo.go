package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
)

// DemoDatabase is where `korebill demo` keeps its database unless told
// otherwise; it is made anew at every demo start.
const DemoDatabase = "data/demo.db"

// resetDemoDatabase removes the demo's SQLite file so that every demo
// starts fresh. A database named by the operator is never removed: it must
// be empty instead (checked in demo).
func (m *Main) resetDemoDatabase() error {
	if m.Config.DatabaseURL != DemoDatabase {
		return nil
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(DemoDatabase + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("demo: remove %s: %w", DemoDatabase+suffix, err)
		}
	}
	return nil
}

// demoAccount is one account the demo makes, with its admin.
type demoAccount struct {
	account billing.Account
	profile billing.BillingProfile
	admin   string
	users   int
	// inactiveFrom says from when a user (by number) stops being active.
	inactiveFrom map[int]time.Time
}

// demo builds months of real history: four accounts on one test clock that
// starts seven months ago, changes made on the way as their admins would
// make them, and the clock advanced to now, so every renewal, invoice and
// credit in between was made by the engine exactly as the scheduler would.
func (m *Main) demo(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "demo", Role: billing.RoleOperator})
	if _, n, err := m.DB.FindAccounts(ctx, billing.AccountFilter{Limit: 1}); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("demo: the database has %d accounts; the demo needs an empty one (the default %s is made anew)", n, DemoDatabase)
	}

	now := m.Clock.Now().UTC()
	start := time.Date(now.Year(), now.Month()-7, now.Day(), 9, 0, 0, 0, time.UTC)
	clock := &billing.TestClock{Name: "demo", Now: start}
	if err := m.DB.CreateTestClock(ctx, clock); err != nil {
		return err
	}

	accounts := []*demoAccount{
		{account: billing.Account{Name: "Acme Corp", Domain: "acme.example.com", BillingType: billing.BillingOnline, TimeZone: "America/New_York"},
			profile: demoProfile("Acme Corp", "Ada Lovelace", "ada@acme.example.com", "1 Market St", "San Francisco", "CA", "94105", "US", "+1 415 555 0132"),
			admin:   "ada@acme.example.com", users: 5},
		{account: billing.Account{Name: "Globex", Domain: "globex.example.com", BillingType: billing.BillingOnline, TimeZone: "Europe/London"},
			profile: demoProfile("Globex Ltd", "Hank Scorpio", "hank@globex.example.com", "10 Downing Lane", "London", "", "SW1A 2AA", "GB", "+44 20 7946 0958"),
			admin:   "hank@globex.example.com", users: 3},
		{account: billing.Account{Name: "Initech", Domain: "initech.example.com", BillingType: billing.BillingOnline, TimeZone: "America/Chicago"},
			profile: demoProfile("Initech", "Bill Lumbergh", "bill@initech.example.com", "4120 Freidrich Ln", "Austin", "TX", "78744", "US", "+1 512 555 0199"),
			admin:   "bill@initech.example.com"},
		{account: billing.Account{Name: "Umbrella Corporation", Domain: "umbrella.example.com", BillingType: billing.BillingSubscription, TimeZone: "Pacific/Auckland"},
			profile: demoProfile("Umbrella Corporation", "Alice Abernathy", "alice@umbrella.example.com", "1 Raccoon Rd", "Auckland", "", "1010", "NZ", "+64 9 555 0147"),
			admin:   "alice@umbrella.example.com", users: 48},
	}
	for _, d := range accounts {
		if err := m.Engine.CreateAccountOnClock(ctx, &d.account, clock.ID); err != nil {
			return fmt.Errorf("demo: create %s: %w", d.account.Name, err)
		}
		d.profile.AccountID = d.account.ID
		if err := m.DB.SetProfile(ctx, &d.profile); err != nil {
			return fmt.Errorf("demo: profile of %s: %w", d.account.Name, err)
		}
		if err := m.demoRoster(ctx, d, start); err != nil {
			return err
		}
	}
	acme, globex, umbrella := &accounts[0].account, &accounts[1].account, &accounts[3].account
	if err := m.DB.SetTaxRate(ctx, &billing.TaxRate{Country: "GB", BasisPoints: 2000}); err != nil {
		return err
	}

	// Cards on file for the online accounts (the test gateway's Visa and
	// Mastercard); Umbrella pays its invoices by bank transfer.
	for _, c := range []struct {
		a     *billing.Account
		token string
	}{{acme, "pm_card_visa"}, {globex, "pm_card_mastercard"}} {
		if _, err := m.Engine.AddCard(ctx, c.a.ID, engine.AddCardRequest{Token: c.token, Default: true}); err != nil {
			return fmt.Errorf("demo: card for %s: %w", c.a.Name, err)
		}
	}
	if _, err := m.Engine.AddBankTransfer(ctx, umbrella.ID, engine.BankDetails{BankName: "ASB Bank",
		AccountHolder: "Umbrella Corporation", AccountLast4: "4821", RemittanceRef: "UMBRELLA-KB"}, true); err != nil {
		return fmt.Errorf("demo: Umbrella's bank transfer: %w", err)
	}

	// Day one: Acme and Globex upgrade from Free; Umbrella signs a contract.
	if _, err := m.Engine.ConfirmChange(ctx, acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Users: "all"}); err != nil {
		return fmt.Errorf("demo: upgrade Acme: %w", err)
	}
	if _, err := m.Engine.ConfirmChange(ctx, globex.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Year, Users: "all"}); err != nil {
		return fmt.Errorf("demo: upgrade Globex: %w", err)
	}
	termStart := billing.DateOf(start, umbrella.Location())
	if _, err := m.Engine.CreateContract(ctx, umbrella.ID, engine.ContractRequest{
		Number: "C-" + termStart.String()[:4] + "-0042", PlanCode: engine.PlanEnterprise,
		TermStart: termStart, TermEnd: billing.FirstPeriod(termStart, billing.Year).End, Prepaid: 50,
		UnitPrice: billing.NewMoney(1800, "USD"), Interval: billing.Month, NetDays: 30,
		OverageUnitPrice: billing.NewMoney(2000, "USD"), AutoRenew: true, PayByInvoice: true,
	}); err != nil {
		return fmt.Errorf("demo: Umbrella's contract: %w", err)
	}

	// The months that follow: the clock moves a week at a time (the
	// platform reports who was active each week), and each change is made
	// on its day.
	events := map[int]func() error{
		20:  func() error { accounts[0].users = 7; return nil },                                     // Acme: two more users, prorated
		45:  func() error { _, err := m.Engine.AddSubscriptions(ctx, umbrella.ID, 10); return err }, // Umbrella buys 10
		50:  func() error { accounts[3].users = 63; return nil },                                    // Umbrella above its 60: overage
		95:  func() error { accounts[1].users = 4; return nil },                                     // Globex: one more, for the rest of the year
		110: func() error { accounts[3].users = 57; return nil },                                    // Umbrella back within
		130: func() error { // Acme: a user leaves; 6 seats from the period end, no refund
			accounts[0].users = 6
			if err := m.demoRoster(ctx, accounts[0], start.Add(130*day)); err != nil {
				return err
			}
			_, err := m.Engine.ConfirmChange(ctx, acme.ID, engine.ChangeRequest{Plan: engine.PlanPremium, Interval: billing.Month, Seats: 6})
			return err
		},
	}
	// Acme's fourth user stops using Kore on day 60: 15 days later the seat
	// earns its inactivity credit, and it is not charged at renewals.
	accounts[0].inactiveFrom = map[int]time.Time{4: start.Add(60 * day)}
	var days []int
	for d := 1; start.Add(time.Duration(d) * day).Before(now); d++ {
		if d%7 == 0 || events[d] != nil {
			days = append(days, d)
		}
	}
	for _, d := range days {
		at := start.Add(time.Duration(d) * day)
		if _, err := m.Clocks.Advance(ctx, clock.ID, at); err != nil {
			return fmt.Errorf("demo: advance to day %d: %w", d, err)
		}
		if ev := events[d]; ev != nil {
			if err := ev(); err != nil {
				return fmt.Errorf("demo: on day %d: %w", d, err)
			}
		}
		for _, a := range accounts {
			if err := m.demoRoster(ctx, a, at); err != nil {
				return err
			}
		}
		if err := m.demoTransfers(ctx, umbrella, at); err != nil {
			return err
		}
	}
	if _, err := m.Clocks.Advance(ctx, clock.ID, now); err != nil {
		return fmt.Errorf("demo: advance to now: %w", err)
	}

	return m.demoUsers(ctx, accounts)
}

const day = 24 * time.Hour

// demoAbout says what an account is on now, as its Account Summary does:
// "online, Premium monthly", "contract, Enterprise, 60 prepaid". It is read
// after the history is made, so that it cannot disagree with the console.
func (m *Main) demoAbout(ctx context.Context, accountID int64) (string, error) {
	ov, err := m.Engine.Subscription(ctx, accountID)
	if err != nil {
		return "", fmt.Errorf("demo: read the subscription: %w", err)
	}
	sub := ov.Subscription
	switch {
	case sub.Contract != nil:
		return fmt.Sprintf("contract, %s, %d prepaid", sub.Plan.Name, sub.Seats), nil
	case !sub.IsPaid():
		return "online, Free, no card", nil
	case sub.Interval == billing.Year:
		return "online, " + sub.Plan.Name + " annual", nil
	}
	return "online, " + sub.Plan.Name + " monthly", nil
}

// demoTransfers records Umbrella's bank transfers: each invoice is paid in
// full twenty days after it was issued, within its net-30 terms.
func (m *Main) demoTransfers(ctx context.Context, a *billing.Account, at time.Time) error {
	invoices, _, err := m.Engine.FindInvoices(ctx, a.ID, 500, 0)
	if err != nil {
		return err
	}
	today := billing.DateOf(at, a.Location())
	for _, inv := range invoices {
		if inv.Status != billing.InvoiceOpen || inv.AmountDue.Amount <= 0 || today.Before(inv.IssueDate.AddDays(20)) {
			continue
		}
		if _, err := m.Engine.RecordBankTransfer(ctx, inv.ID, engine.BankTransfer{Amount: inv.AmountDue.Amount,
			Reference: "ACH " + inv.Number, ReceivedOn: today}); err != nil {
			return fmt.Errorf("demo: transfer for %s: %w", inv.Number, err)
		}
	}
	return nil
}

func demoProfile(company, contact, email, line1, city, region, postal, country, phone string) billing.BillingProfile {
	return billing.BillingProfile{CompanyName: company, ContactName: contact, Email: email, Phone: phone,
		Address: billing.Address{Line1: line1, City: city, Region: region, PostalCode: postal, Country: country}}
}

// demoRoster reports the account's managed users u1…un as the platform
// does, each last active at the time at unless it stopped being active.
func (m *Main) demoRoster(ctx context.Context, d *demoAccount, at time.Time) error {
	users := make([]billing.ManagedUser, 0, d.users)
	domain := d.account.Domain
	for i := 1; i <= d.users; i++ {
		email := fmt.Sprintf("user%d@%s", i, domain)
		if i == 1 {
			email = d.admin
		}
		active := at
		if from, ok := d.inactiveFrom[i]; ok && from.Before(at) {
			active = from
		}
		users = append(users, billing.ManagedUser{AccountID: d.account.ID, UserID: fmt.Sprintf("u%d", i), Email: email, LastActiveAt: &active})
	}
	if _, err := m.Engine.ReplaceManagedUsers(ctx, d.account.ID, users); err != nil {
		return fmt.Errorf("demo: roster of %s: %w", d.account.Name, err)
	}
	return nil
}

// demoUsers makes the operator's API key and a console user for the
// operator and each account's admin, with one password, and prints them.
func (m *Main) demoUsers(ctx context.Context, accounts []*demoAccount) error {
	key, err := m.DB.CreateAPIKey(ctx, &billing.APIKey{Name: "demo operator", Role: billing.RoleOperator})
	if err != nil {
		return err
	}
	password := store.GeneratePassword()
	if err := m.DB.CreateConsoleUser(ctx, &store.ConsoleUser{Email: "admin@localhost", Name: "Kore operator", Role: billing.RoleOperator}, password); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nKore Billing demo: seven months of history, made by a test clock.\n\n")
	fmt.Fprintf(&b, "  Console:  %s/  (after the server starts)\n", "http://"+m.Config.Addr)
	fmt.Fprintf(&b, "  Password for every demo user: %s\n\n", password)
	fmt.Fprintf(&b, "  %-28s %-12s %s\n", "sign in as", "account", "")
	fmt.Fprintf(&b, "  %-28s %-12s %s\n", "admin@localhost", "", "operator: every account, the test clock")
	for _, d := range accounts {
		u := &store.ConsoleUser{Email: d.admin, Name: d.profile.ContactName, Role: billing.RoleOwner, AccountID: d.account.ID}
		if err := m.DB.CreateConsoleUser(ctx, u, password); err != nil {
			return err
		}
		about, err := m.demoAbout(ctx, d.account.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  %-28s %-12s %s\n", d.admin, d.account.Number, about)
	}
	fmt.Fprintf(&b, "\n  API:  export KOREBILL_KEY=%s\n", key)
	fmt.Fprintf(&b, "        curl -s http://%s/v1/accounts -H \"Authorization: Bearer $KOREBILL_KEY\"\n\n", m.Config.Addr)
	_, err = fmt.Fprint(m.Stdout, b.String())
	return err
}
