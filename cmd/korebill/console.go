package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/store"
)

// ConsoleConfig is the console's part of the configuration.
type ConsoleConfig struct {
	SecureCookies      bool
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration

	// users create
	UserEmail    string
	UserRole     string
	UserAccount  string
	UserName     string
	UserPassword string
}

// consoleFlags adds the console's flags for cmd to fs.
func (m *Main) consoleFlags(fs *flag.FlagSet, cmd string) {
	c := &m.Config.Console
	if cmd == "serve" || cmd == "demo" {
		if v, ok := os.LookupEnv("KOREBILL_SECURE_COOKIES"); ok {
			c.SecureCookies = v == "1" || strings.EqualFold(v, "true")
		}
		fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies,
			"mark the console's session cookie Secure even on loopback (it is Secure whenever --addr is not loopback, and with --tls-cert) ($KOREBILL_SECURE_COOKIES)")
		dur := func(p *time.Duration, name, env, help string) {
			if v, ok := os.LookupEnv(env); ok {
				if d, err := time.ParseDuration(v); err == nil {
					*p = d
				}
			}
			fs.DurationVar(p, name, *p, help+" ($"+env+")")
		}
		dur(&c.SessionIdleTimeout, "session-idle-timeout", "KOREBILL_SESSION_IDLE_TIMEOUT", "sign a console user out after this long without a request")
		dur(&c.SessionLifetime, "session-lifetime", "KOREBILL_SESSION_LIFETIME", "sign a console user out after this long in any case")
	}
	if cmd == "users-create" {
		fs.StringVar(&c.UserEmail, "email", "", "the user's email, which they sign in with")
		fs.StringVar(&c.UserRole, "role", "", "operator, owner, billing_admin or viewer")
		fs.StringVar(&c.UserAccount, "account", "", "account number, for owner, billing_admin and viewer")
		fs.StringVar(&c.UserName, "name", "", "the user's name")
		c.UserPassword = os.Getenv("KOREBILL_USER_PASSWORD")
		fs.StringVar(&c.UserPassword, "password", c.UserPassword,
			"the password (at least 12 characters; $KOREBILL_USER_PASSWORD); without one, a password is generated and printed once")
	}
}

// newConsole builds the console on the database.
func (m *Main) newConsole() (*console.Server, error) {
	c := m.Config.Console
	services := console.Services{Accounts: m.DB, Profiles: m.DB, Audit: m.DB, Users: m.DB, Engine: m.Engine}
	// The operator console's webhooks, outbox, test clocks and job list;
	// each left nil (the page says so) when this command has none.
	if m.Webhooks != nil {
		services.Webhooks = m.Webhooks
	}
	if m.Mailer != nil {
		services.Emails = m.Mailer
	}
	if m.Clocks != nil {
		services.Clocks = m.Clocks
	}
	if m.Jobs != nil {
		services.BillJobs = billJobs{m.Jobs}
		services.Runs = billingRuns{m.Jobs}
	}
	return console.New(console.Config{
		Services: services,
		Sessions: m.DB.Sessions(), Logger: m.Logger, SecureCookies: m.secureCookies(),
		IdleTimeout: c.SessionIdleTimeout, Lifetime: c.SessionLifetime,
		TestMode: m.Config.Mode == "test",
	})
}

// billJobs lists River's recent bill jobs for the console's billing runs
// page.
type billJobs struct{ r *jobs.Runner }

func (b billJobs) RecentBillJobs(ctx context.Context, limit int) ([]console.BillJob, error) {
	res, err := b.r.Client().JobList(ctx, river.NewJobListParams().Kinds(jobs.BillAccountArgs{}.Kind()).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit))
	if err != nil {
		return nil, err
	}
	out := make([]console.BillJob, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		var args jobs.BillAccountArgs
		_ = json.Unmarshal(j.EncodedArgs, &args)
		bj := console.BillJob{ID: j.ID, AccountID: args.AccountID, State: string(j.State), Attempt: j.Attempt,
			ScheduledAt: j.ScheduledAt, FinishedAt: j.FinalizedAt}
		if n := len(j.Errors); n > 0 {
			bj.LastError = j.Errors[n-1].Error
		}
		out = append(out, bj)
	}
	return out, nil
}

// billingRuns starts billing runs as River jobs and lists them with their
// progress, for the console's billing runs page.
type billingRuns struct{ r *jobs.Runner }

func (b billingRuns) StartRun(ctx context.Context, dueAtStart int) (int64, error) {
	return b.r.StartRun(ctx, dueAtStart)
}

func (b billingRuns) RecentRuns(ctx context.Context, limit int) ([]console.BillingRun, error) {
	runs, err := b.r.RecentRuns(ctx, limit)
	out := make([]console.BillingRun, 0, len(runs))
	for _, j := range runs {
		s := j.Stats
		out = append(out, console.BillingRun{ID: j.ID, State: j.State, DueAtStart: j.DueAtStart, Due: s.Due, Billed: s.Billed,
			Failed: s.Failed, Invoices: s.Invoices, Renewals: s.Renewals, Payments: s.Payments, Credits: s.Credits,
			Seconds: s.Seconds, CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt, LastError: j.LastError})
	}
	return out, err
}

// firstConsoleUser makes an operator who can sign in to the console on the
// first start of a new database, and prints the password once.
func (m *Main) firstConsoleUser(ctx context.Context) error {
	n, err := m.DB.CountConsoleUsers(ctx)
	if err != nil {
		return fmt.Errorf("count console users: %w", err)
	}
	if n > 0 {
		return nil
	}
	password := store.GeneratePassword()
	u := &store.ConsoleUser{Email: "admin@localhost", Name: "First operator", Role: billing.RoleOperator}
	if err := m.DB.CreateConsoleUser(ctx, u, password); err != nil {
		return fmt.Errorf("create first console user: %w", err)
	}
	fmt.Fprintf(m.Stdout, "A new database: sign in to the console at %s as an operator. The password is shown only this once.\n\n  email:    %s\n  password: %s\n\n",
		consoleURL(m.Config.Addr), u.Email, password)
	return nil
}

// consoleURL is where a person on this machine opens the console served on
// addr.
func consoleURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// createUser is `korebill users create`.
func (m *Main) createUser(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "cli", Role: billing.RoleOperator})
	c := m.Config.Console
	u := &store.ConsoleUser{Email: c.UserEmail, Name: c.UserName, Role: billing.Role(c.UserRole)}
	if c.UserAccount != "" {
		a, err := m.DB.FindAccountByNumber(ctx, c.UserAccount)
		if err != nil {
			return fmt.Errorf("--account: %s", billing.ErrorMessage(err))
		}
		u.AccountID = a.ID
	}
	password, generated := c.UserPassword, false
	if password == "" {
		password, generated = store.GeneratePassword(), true
	}
	if err := m.DB.CreateConsoleUser(ctx, u, password); err != nil {
		return cliError(err)
	}
	fmt.Fprintf(m.Stdout, "created %s (%s)\n", u.Email, u.Role)
	if generated {
		fmt.Fprintf(m.Stdout, "password: %s\n(shown only this once)\n", password)
	}
	return nil
}

// cliError says every field a billing error names, as flags: "--email: …;
// --password: …".
func cliError(err error) error {
	var be *billing.Error
	if !errors.As(err, &be) || len(be.Fields) == 0 {
		return fmt.Errorf("%s", billing.ErrorMessage(err))
	}
	var parts []string
	for _, f := range be.Fields {
		parts = append(parts, "--"+f.Field+": "+f.Message)
	}
	return errors.New(strings.Join(parts, "; "))
}
