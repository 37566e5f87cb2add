package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/gateway/testgateway"
	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/testclock"
	"github.com/kore-billing/korebill/webhook"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

var errUsage = errors.New("usage")

// Config is what flags and KOREBILL_* environment variables set.
type Config struct {
	DatabaseURL string
	Addr        string
	LogLevel    string
	LogFormat   string
	// Mode is "test" (test clocks allowed; the default, for a newcomer's
	// first run and the demo) or "production".
	Mode string

	// keys create
	KeyRole    string
	KeyAccount string
	KeyName    string

	// Console: session settings; users create (console.go).
	Console ConsoleConfig
	// Notify: webhooks and email (notify.go).
	Notify NotifyConfig
	// Payments: the gateway and the retry schedule (payments.go).
	Payments PaymentsConfig
	// Bench: `korebill bench` (bench.go).
	Bench BenchConfig

	// reconcile and backup (reconcile.go)
	ReconcileMinAge time.Duration
	ReconcileJSON   bool
	BackupFile      string
	// Security: TLS, metrics, private webhooks (security.go).
	Security SecurityConfig
}

// Validate names every setting that is wrong.
func (c *Config) Validate() error {
	var problems []string
	if c.DatabaseURL == "" {
		problems = append(problems, "--database-url (KOREBILL_DATABASE_URL) is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("--addr (KOREBILL_ADDR) %q is not host:port", c.Addr))
	}
	switch c.Mode {
	case "test", "production":
	default:
		problems = append(problems, fmt.Sprintf("--mode (KOREBILL_MODE) %q must be test or production", c.Mode))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		problems = append(problems, fmt.Sprintf("--log-format %q must be text or json", c.LogFormat))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		problems = append(problems, fmt.Sprintf("--log-level %q must be debug, info, warn or error", c.LogLevel))
	}
	problems = append(problems, c.Security.validate()...)
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Main is the program: flags in, a running service out. End-to-end tests
// start the same Main in-process.
type Main struct {
	Config  Config
	Command string // serve, migrate, keys-create, openapi, version

	Stdout, Stderr io.Writer
	Clock          billing.Clock
	Logger         *slog.Logger

	DB     *store.DB
	Engine *engine.Engine
	Jobs   *jobs.Runner
	Clocks *testclock.Clocks
	// Webhooks and Mailer deliver events and emails (notify.go).
	Webhooks *webhook.Service
	Mailer   *mail.Service
	API      *api.Server
	Console  *console.Server
	// BenchCommand starts korebill for `korebill bench`; nil runs this
	// executable (tests re-execute the test binary).
	BenchCommand benchCommand
	// testGateway is the test gateway when it is the one in use, to close
	// its ledger.
	testGateway *testgateway.Gateway
	server      *http.Server
	ln          net.Listener
	// metricsServer serves /metrics on --metrics-addr.
	metricsServer *http.Server
	metricsLn     net.Listener
	// Ready is closed once Run is serving (tests wait on it).
	Ready chan struct{}
}

// NewMain returns a Main with defaults that work with no configuration.
func NewMain() *Main {
	return &Main{
		Config: Config{
			DatabaseURL:     "data/korebill.db",
			Addr:            "127.0.0.1:8080",
			LogLevel:        "info",
			LogFormat:       "text",
			Mode:            "test",
			ReconcileMinAge: 5 * time.Minute,
			Payments: PaymentsConfig{Gateway: "test", StripeTimeout: 30 * time.Second, StripeRetries: 2,
				RetryDays: "1,3,5,7"},
			Notify: NotifyConfig{MailFrom: "Kore Billing <billing@localhost>",
				WebhookRetention: 90 * 24 * time.Hour, EmailRetention: 90 * 24 * time.Hour},
		},
		Stdout: io.Discard,
		Stderr: io.Discard,
		Clock:  billing.SystemClock{},
		Ready:  make(chan struct{}),
	}
}

const usage = `korebill — Kore Billing

Usage:
  korebill serve   [flags]   run the service
  korebill migrate [flags]   apply database migrations and exit
  korebill bill    [flags]   run all billing that is due now, then exit
  korebill reconcile [flags] settle payment attempts left without an answer with the gateway,
                             check every invariant of the books; exit 1 when one is broken
  korebill backup FILE       copy the SQLite database to FILE, consistently, while it runs
  korebill demo    [flags]   a fresh demo database with months of history, then serve it
  korebill keys create --role ROLE [--account KB-000001] [--name NAME]
                             make an API key and print it once
  korebill users create --email EMAIL --role ROLE [--account KB-000001] [--name NAME] [--password PW]
                             make a console user (a password is generated and printed once
                             unless --password or $KOREBILL_USER_PASSWORD gives one)
  korebill bench --accounts N [--database-url URL] [--nodes K] [--http]
                             load N accounts due to renew into a fresh database, bill them
                             with korebill bill, and compare with the raw write floor
  korebill openapi           print the OpenAPI document
  korebill version           print the version

Flags (each also read from the environment variable shown):
`

// ParseFlags reads the subcommand and its flags; flags fall back to
// KOREBILL_* environment variables.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cmd, rest := args[0], args[1:]
	if cmd == "keys" {
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprintln(m.Stderr, "usage: korebill keys create --role ROLE [--account KB-000001] [--name NAME]")
			return errUsage
		}
		cmd, rest = "keys-create", rest[1:]
	}
	if cmd == "users" {
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprintln(m.Stderr, "usage: korebill users create --email EMAIL --role ROLE [--account KB-000001] [--name NAME] [--password PW]")
			return errUsage
		}
		cmd, rest = "users-create", rest[1:]
	}
	switch cmd {
	case "bench":
		m.Command = cmd
		fs := m.benchFlagSet()
		fs.SetOutput(m.Stderr)
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments: %v", fs.Args())
		}
		return nil
	case "serve", "migrate", "bill", "demo", "keys-create", "users-create", "openapi", "version", "reconcile", "backup":
	case "-h", "--help", "help":
		fs := m.flagSet("serve")
		fs.SetOutput(m.Stderr)
		fmt.Fprint(m.Stderr, usage)
		fs.PrintDefaults()
		return errUsage
	default:
		fmt.Fprintf(m.Stderr, "korebill: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
	m.Command = cmd
	fs := m.flagSet(cmd)
	fs.SetOutput(m.Stderr)
	if err := fs.Parse(rest); err != nil {
		return errUsage
	}
	if cmd == "demo" && m.Config.DatabaseURL == NewMain().Config.DatabaseURL {
		m.Config.DatabaseURL = DemoDatabase // the demo never touches the real default database
	}
	if cmd == "backup" {
		if fs.NArg() != 1 {
			fmt.Fprintln(m.Stderr, "usage: korebill backup [--database-url …] FILE")
			return errUsage
		}
		m.Config.BackupFile = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return m.Config.Validate()
}

func (m *Main) flagSet(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("korebill "+cmd, flag.ContinueOnError)
	c := &m.Config
	str := func(p *string, name, env, help string) {
		if v, ok := os.LookupEnv(env); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, help+" ($"+env+")")
	}
	str(&c.DatabaseURL, "database-url", "KOREBILL_DATABASE_URL", "SQLite file path (sqlite://path) or postgres:// URL")
	str(&c.Addr, "addr", "KOREBILL_ADDR", "address to listen on")
	str(&c.LogLevel, "log-level", "KOREBILL_LOG_LEVEL", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "KOREBILL_LOG_FORMAT", "text or json")
	str(&c.Mode, "mode", "KOREBILL_MODE", "test (test clocks allowed) or production")
	if cmd == "keys-create" {
		fs.StringVar(&c.KeyRole, "role", "operator", "operator, platform, owner, billing_admin or viewer")
		fs.StringVar(&c.KeyAccount, "account", "", "account number, for owner, billing_admin and viewer keys")
		fs.StringVar(&c.KeyName, "name", "", "a name to recognise the key by")
	}
	m.consoleFlags(fs, cmd)
	if cmd == "serve" || cmd == "demo" || cmd == "bill" || cmd == "reconcile" {
		m.securityFlags(fs)
	}
	if cmd == "serve" || cmd == "demo" || cmd == "bill" || cmd == "reconcile" {
		m.notifyFlags(fs)
		m.paymentsFlags(fs)
	}
	if cmd == "reconcile" {
		fs.DurationVar(&c.ReconcileMinAge, "min-age", c.ReconcileMinAge,
			"leave attempts whose gateway call began less than this ago (a call may be under way elsewhere); 0 settles all")
		fs.BoolVar(&c.ReconcileJSON, "json", false, "print the report as JSON")
	}
	return fs
}

// Run carries out the command; serve returns when ctx is cancelled.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = newLogger(m.Stderr, m.Config)
	}
	switch m.Command {
	case "version":
		fmt.Fprintln(m.Stdout, "korebill", Version)
		return nil
	case "openapi":
		b, err := m.newAPI().OpenAPI()
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(b)
		return err
	case "bench":
		return m.runBench(ctx)
	}

	if m.Command == "demo" {
		if err := m.resetDemoDatabase(); err != nil {
			return err
		}
	}
	if err := m.openDB(ctx); err != nil {
		return err
	}
	if m.Command == "backup" {
		return m.backup(ctx)
	}
	if err := m.openEngine(ctx); err != nil {
		return err
	}
	switch m.Command {
	case "bill":
		return m.runBill(ctx)
	case "reconcile":
		return m.runReconcile(ctx)
	case "demo":
		if err := m.demo(ctx); err != nil {
			return err
		}
	case "migrate":
		fmt.Fprintln(m.Stdout, "migrated", m.DB.Dialect(), "database")
		return nil
	case "keys-create":
		return m.createKey(ctx)
	case "users-create":
		return m.createUser(ctx)
	}
	return m.serve(ctx)
}

func newLogger(w io.Writer, c Config) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (m *Main) openDB(ctx context.Context) error {
	db, err := store.Open(ctx, m.Config.DatabaseURL, m.Clock, m.Logger)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	m.DB = db
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

func (m *Main) newAPI() *api.Server {
	cfg := api.Config{Logger: m.Logger, Version: Version, TestMode: m.Config.Mode == "test",
		MetricsKey: m.Config.Security.MetricsKey, MetricsElsewhere: m.Config.Security.MetricsAddr != ""}
	if m.DB != nil {
		cfg.Services = api.Services{
			Accounts: m.DB, Profiles: m.DB, Catalog: m.DB, Users: m.DB, Audit: m.DB, Keys: m.DB, Idempotency: m.DB,
			TestClocks: m.DB,
		}
		if m.Clocks != nil {
			cfg.Services.Clocks = m.Clocks
		}
		cfg.Services.Engine = m.Engine
		if m.Engine != nil {
			cfg.Services.PaymentLabels = m.Engine
		}
		if m.Webhooks != nil {
			cfg.Services.Webhooks, cfg.Services.Emails = m.Webhooks, m.Mailer
		}
		cfg.Ready = m.DB.Ping
	}
	if m.Jobs != nil {
		cfg.Collectors = m.Jobs.Collectors()
	}
	return api.New(cfg)
}

func (m *Main) serve(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.SystemActor)
	if err := m.firstOperatorKey(ctx); err != nil {
		return err
	}
	if err := m.firstConsoleUser(ctx); err != nil {
		return err
	}
	m.API = m.newAPI()
	cs, err := m.newConsole()
	if err != nil {
		return err
	}
	m.Console = cs
	m.Console.Register(m.API.Mux()) // the console's pages beside the API, behind the same Wrap
	go m.Console.CleanupSessions(ctx, 10*time.Minute)
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.ln = ln
	m.server = &http.Server{
		Handler:           hsts(m.API.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	// The jobs outlive ctx until Stop below lets running ones finish.
	if err := m.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	errc := make(chan error, 2)
	if tc := m.Config.Security; tc.TLSCert != "" {
		go func() { errc <- m.server.ServeTLS(ln, tc.TLSCert, tc.TLSKey) }()
	} else {
		go func() { errc <- m.server.Serve(ln) }()
	}
	if addr := m.Config.Security.MetricsAddr; addr != "" {
		mln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.API.MetricsHandler())
		m.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		m.metricsLn = mln
		go func() { errc <- m.metricsServer.Serve(mln) }()
		defer m.metricsServer.Close()
	}
	m.Logger.Info("serving", slog.String("url", m.URL()), slog.String("database", m.DB.Dialect()), slog.String("version", Version))
	close(m.Ready)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	m.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.server.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := m.Jobs.Stop(shutdownCtx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	return nil
}

// URL is where the service listens, once Ready.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	if m.Config.Security.TLSCert != "" {
		return "https://" + m.ln.Addr().String()
	}
	return "http://" + m.ln.Addr().String()
}

// MetricsURL is where /metrics is served on its own listener, once Ready;
// "" without --metrics-addr.
func (m *Main) MetricsURL() string {
	if m.metricsLn == nil {
		return ""
	}
	return "http://" + m.metricsLn.Addr().String() + "/metrics"
}

// firstOperatorKey prints an operator key on the first start of a new
// database, so that a newcomer can call the API at once. It is shown once.
func (m *Main) firstOperatorKey(ctx context.Context) error {
	n, err := m.DB.CountAPIKeys(ctx)
	if err != nil {
		return fmt.Errorf("count api keys: %w", err)
	}
	if n > 0 {
		return nil
	}
	secret, err := m.DB.CreateAPIKey(ctx, &billing.APIKey{Name: "first operator key", Role: billing.RoleOperator})
	if err != nil {
		return fmt.Errorf("create first operator key: %w", err)
	}
	fmt.Fprintf(m.Stdout, "\nA new database: here is an operator API key. It is shown only this once.\n\n  export KOREBILL_KEY=%s\n\n", secret)
	return nil
}

func (m *Main) createKey(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "cli", Role: billing.RoleOperator})
	k := &billing.APIKey{Name: m.Config.KeyName, Role: billing.Role(m.Config.KeyRole)}
	if m.Config.KeyAccount != "" {
		a, err := m.DB.FindAccountByNumber(ctx, m.Config.KeyAccount)
		if err != nil {
			return fmt.Errorf("%s", billing.ErrorMessage(err))
		}
		k.AccountID = a.ID
	}
	secret, err := m.DB.CreateAPIKey(ctx, k)
	if err != nil {
		return fmt.Errorf("%s", billing.ErrorMessage(err))
	}
	fmt.Fprintln(m.Stdout, secret)
	return nil
}

// Close stops the server if it still runs and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.DB != nil {
		if err := m.DB.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.testGateway != nil {
		if err := m.testGateway.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
