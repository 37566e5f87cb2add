// Package bench holds `korebill bench`: it loads N accounts whose renewal
// is due into a fresh database, runs the real billing run (`korebill bill`,
// in one or more child processes) over them, writes the same rows again by
// the fastest raw path (the floor), checks that every account was billed
// exactly once, and reports the figures. With HTTP load it also drives the
// pages and API reads of the loaded database at fixed rates.
//
// It uses the store to open and migrate the database and otherwise plain
// SQL; it imports no engine, api or console code: what it measures runs in
// the korebill processes it starts.
package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/schollz/progressbar/v3"

	"github.com/kore-billing/korebill/store"
)

// Config is what `korebill bench` is asked to do.
type Config struct {
	Accounts int
	// DatabaseURL is a postgres:// URL (the bench makes a fresh schema in it
	// and drops it at the end) or a SQLite file that must not exist yet;
	// empty means a SQLite file in a temporary directory.
	DatabaseURL string
	// Nodes is how many `korebill bill` processes run at once (PostgreSQL).
	Nodes int
	// Keep keeps the database (the SQLite file, the PostgreSQL schema) for
	// a look afterwards.
	Keep bool
	// HTTP drives the loaded database's reads at fixed rates after the run.
	HTTP HTTPConfig

	// Command makes the command that runs korebill with args: by default
	// this executable (tests re-execute the test binary).
	Command func(ctx context.Context, args ...string) *exec.Cmd

	Stdout io.Writer // the report
	Stderr io.Writer // progress bars
}

// Result is the figures of one bench.
type Result struct {
	Dialect       string
	Accounts      int
	Nodes         int
	Load          time.Duration
	Run           time.Duration
	Invoices      int64
	Floor         time.Duration
	FloorCPU      time.Duration // the bench process's CPU during the floor (SQLite: all of its work)
	FloorRows     int64
	Written       []string // "table rows/account"
	Latency       Latency
	RunCPU        time.Duration // user + system time of the billing processes
	LoadAverage   [2]string     // the machine's 1-minute load average before and after the run
	RunRSS        int64         // bytes: the largest billing process
	RunRSSSum     int64         // bytes: all billing processes together
	SelfRSS       int64         // bytes: the bench process
	DatabaseBytes int64
	ServeReady    time.Duration
	Check         *Check
	HTTP          []HTTPResult
}

// PeakRSSMB is the billing run's peak resident memory in MB: getrusage's
// maxrss of its processes, added up when there are several (an upper
// bound of what they held at once). The bench's own is reported apart.
func (r *Result) PeakRSSMB() float64 {
	return float64(r.RunRSSSum) / (1 << 20)
}

// InvoicesPerSecond is invoices issued by the run per second of its wall time.
func (r *Result) InvoicesPerSecond() float64 {
	if r.Run <= 0 {
		return 0
	}
	return float64(r.Invoices) / r.Run.Seconds()
}

// FloorRatio is the run's time over the floor's.
func (r *Result) FloorRatio() float64 {
	if r.Floor <= 0 {
		return 0
	}
	return r.Run.Seconds() / r.Floor.Seconds()
}

// Line is the report's last line, for scripts.
func (r *Result) Line() string {
	return fmt.Sprintf("invoices=%d seconds=%.3f invoices_per_s=%.1f floor_seconds=%.3f floor_ratio=%.1f peak_rss_mb=%.0f",
		r.Invoices, r.Run.Seconds(), r.InvoicesPerSecond(), r.Floor.Seconds(), r.FloorRatio(), r.PeakRSSMB())
}

// ErrCheck is returned (wrapped) when the run did not bill every account
// exactly once.
var ErrCheck = errors.New("bench: the billing run's result is wrong")

// Run carries out the bench and writes its report to cfg.Stdout, the
// figures line last. It returns an error wrapping ErrCheck when the result
// is wrong, after the report.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Accounts <= 0 {
		return nil, fmt.Errorf("bench: --accounts must be at least 1")
	}
	if cfg.Nodes <= 0 {
		cfg.Nodes = 1
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.Command == nil {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		cfg.Command = func(ctx context.Context, args ...string) *exec.Cmd { return exec.CommandContext(ctx, exe, args...) }
	}
	tmp, err := os.MkdirTemp("", "korebill-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)

	dbURL, cleanup, err := freshDatabase(ctx, cfg, tmp)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	b := &run{cfg: cfg, tmp: tmp, url: dbURL, res: &Result{Accounts: cfg.Accounts, Nodes: cfg.Nodes}}
	return b.res, b.do(ctx)
}

// freshDatabase makes the database the bench runs on and returns its URL and
// what removes it.
func freshDatabase(ctx context.Context, cfg Config, tmp string) (string, func(), error) {
	u := cfg.DatabaseURL
	keep := func(what string) func() {
		return func() { fmt.Fprintf(cfg.Stderr, "kept: %s\n", what) }
	}
	switch {
	case u == "":
		dir := tmp
		if cfg.Keep {
			var err error
			if dir, err = os.MkdirTemp("", "korebill-bench-db-"); err != nil {
				return "", nil, err
			}
		}
		path := filepath.Join(dir, "korebill.db")
		if cfg.Keep {
			return path, keep("--database-url " + path), nil
		}
		return path, func() {}, nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if strings.Contains(u, "search_path") {
			return "", nil, fmt.Errorf("bench: --database-url must not set search_path: the bench makes its own schema")
		}
		admin, err := pgx.Connect(ctx, u)
		if err != nil {
			return "", nil, fmt.Errorf("bench: connect: %w", err)
		}
		defer admin.Close(ctx)
		var suffix [6]byte
		_, _ = rand.Read(suffix[:])
		schema := "korebill_bench_" + hex.EncodeToString(suffix[:])
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return "", nil, fmt.Errorf("bench: create schema: %w", err)
		}
		pu, err := url.Parse(u)
		if err != nil {
			return "", nil, fmt.Errorf("bench: --database-url: %w", err)
		}
		q := pu.Query()
		q.Set("search_path", schema)
		pu.RawQuery = q.Encode()
		if cfg.Keep {
			return pu.String(), keep("--database-url '" + pu.String() + "'"), nil
		}
		return pu.String(), func() {
			ctx := context.Background()
			if admin, err := pgx.Connect(ctx, u); err == nil {
				_, _ = admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				admin.Close(ctx)
			}
		}, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite://"), "sqlite:")
		if _, err := os.Stat(path); err == nil {
			return "", nil, fmt.Errorf("bench: %s exists: the bench makes a fresh database; name a file that does not exist", path)
		}
		return path, keep("--database-url " + path), nil
	}
}

// run is one bench in progress.
type run struct {
	cfg Config
	tmp string
	url string
	res *Result
	c   *conn
}

func (b *run) printf(format string, args ...any) { fmt.Fprintf(b.cfg.Stdout, format, args...) }

func (b *run) do(ctx context.Context) error {
	cfg, res := b.cfg, b.res
	db, err := store.Open(ctx, b.url, nil, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer db.Close()
	b.c = &conn{dialect: db.Dialect(), db: db}
	res.Dialect = db.Dialect()
	if b.c.postgres() {
		if b.c.pg, err = pgx.Connect(ctx, b.url); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer b.c.pg.Close(context.WithoutCancel(ctx))
	} else if cfg.Nodes > 1 {
		return fmt.Errorf("bench: --nodes %d: several billing processes need PostgreSQL (SQLite has one writer)", cfg.Nodes)
	}
	b.printf("bench: %d accounts on %s, %d billing process(es)\n", cfg.Accounts, res.Dialect, cfg.Nodes)

	// Load at the fixed schema version, then migrate the rest and seed
	// the catalog with `korebill migrate`, as an upgrade would.
	if err := db.MigrateTo(ctx, LoadSchemaVersion); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	bar := progressbar.NewOptions(cfg.Accounts, progressbar.OptionSetWriter(cfg.Stderr),
		progressbar.OptionSetDescription("loading accounts"), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	start := time.Now()
	if err := b.c.load(ctx, cfg.Accounts, time.Now(), bar); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	_ = bar.Finish()
	if _, err := b.korebill(ctx, "migrate", "migrate"); err != nil {
		return err
	}
	res.Load = time.Since(start)
	b.printf("load: %d accounts (profile, card, Premium renewal due) in %.2fs, migrated and seeded by korebill migrate\n",
		cfg.Accounts, res.Load.Seconds())

	before, err := b.c.marks(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := b.billingRun(ctx); err != nil {
		return err
	}
	if res.Check, err = b.c.check(ctx, cfg.Accounts); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	res.Invoices = res.Check.Invoices
	b.printf("run: korebill bill ×%d: %d invoices in %.2fs (%.1f/s), %.2fs of CPU in korebill; peak RSS %.0f MB (largest process), %.0f MB (all)\n",
		cfg.Nodes, res.Invoices, res.Run.Seconds(), res.InvoicesPerSecond(), res.RunCPU.Seconds(),
		float64(res.RunRSS)/(1<<20), float64(res.RunRSSSum)/(1<<20))
	b.printf("machine: %d CPUs, load average %s before the run, %s after\n", runtime.NumCPU(), res.LoadAverage[0], res.LoadAverage[1])
	if res.Latency, err = b.c.latency(ctx, before); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.printf("per account: p50 %s, p99 %s, max %s (first write to payment resolved, %d accounts)\n",
		round(res.Latency.P50), round(res.Latency.P99), round(res.Latency.Max), res.Latency.Accounts)
	if res.DatabaseBytes, err = b.databaseSize(ctx); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	b.printf("database: %.1f MB after the run\n", float64(res.DatabaseBytes)/(1<<20))

	ws, unknown, err := b.c.written(ctx, before)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var parts []string
	for _, w := range ws {
		res.FloorRows += w.rows
		parts = append(parts, fmt.Sprintf("%s %.2f", w.table, float64(w.rows)/float64(cfg.Accounts)))
	}
	res.Written = parts
	b.printf("rows written per account: %s\n", strings.Join(parts, ", "))
	if len(unknown) > 0 {
		b.printf("  (not in the floor: rows added to %s, which cannot be told from older ones)\n", strings.Join(unknown, ", "))
	}
	cpu0 := selfCPU()
	if res.Floor, err = b.c.floor(ctx, ws, b.tmp); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	res.FloorCPU = selfCPU() - cpu0
	if b.c.postgres() {
		b.printf("floor: the same %d rows by one transaction of binary COPY in %.3fs; the run took %.1f× as long\n",
			res.FloorRows, res.Floor.Seconds(), res.FloorRatio())
	} else {
		// SQLite runs in the process that writes, so CPU time compares
		// the two whatever else the machine was doing.
		b.printf("floor: the same %d rows by one transaction of prepared multi-row INSERTs in %.3fs; the run took %.1f× as long"+
			" (CPU: %.2fs for the floor, reading the rows back included, against the run's %.2fs: %.1f×)\n",
			res.FloorRows, res.Floor.Seconds(), res.FloorRatio(), res.FloorCPU.Seconds(), res.RunCPU.Seconds(),
			res.RunCPU.Seconds()/max(res.FloorCPU.Seconds(), 1e-6))
	}

	if res.ServeReady, err = b.serveReady(ctx); err != nil {
		return err
	}
	b.printf("serve: korebill serve ready (GET /readyz answered) %d ms after start\n", res.ServeReady.Milliseconds())

	if cfg.HTTP.Enabled {
		if err := b.httpLoad(ctx); err != nil {
			return err
		}
	}

	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		res.SelfRSS = ru.Maxrss * 1024
	}
	b.printf("bench process: peak RSS %.0f MB (loading, checking, the floor)\n", float64(res.SelfRSS)/(1<<20))
	ck := res.Check
	if ck.OK() {
		b.printf("check: ok: %d accounts, each billed once: %d renewal invoices, paid, %d succeeded payments, numbers %s gapless\n",
			ck.Accounts, ck.RenewalInvoices, ck.Succeeded, ck.Numbers)
	} else {
		b.printf("check: FAILED: %s\n", strings.Join(ck.Problems, "; "))
	}
	b.printf("%s\n", res.Line())
	if !ck.OK() {
		return fmt.Errorf("%w: %s", ErrCheck, strings.Join(ck.Problems, "; "))
	}
	return nil
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// korebill runs korebill to completion with its output in a log file;
// a failure names the log's end.
func (b *run) korebill(ctx context.Context, name string, args ...string) (*os.ProcessState, error) {
	cmd, log, err := b.command(ctx, name, args...)
	if err != nil {
		return nil, err
	}
	err = cmd.Run()
	log.Close()
	if err != nil {
		return cmd.ProcessState, fmt.Errorf("bench: korebill %s: %w\n%s", strings.Join(args, " "), err, tail(log.Name()))
	}
	return cmd.ProcessState, nil
}

func (b *run) command(ctx context.Context, name string, args ...string) (*exec.Cmd, *os.File, error) {
	log, err := os.Create(filepath.Join(b.tmp, name+".log"))
	if err != nil {
		return nil, nil, err
	}
	args = append(args, "--database-url", b.url)
	cmd := b.cfg.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = log, log
	return cmd, log, nil
}

// tail is the end of a log file, for an error message.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(bytes.TrimSpace(data))
}

// billingRun runs `korebill bill` in cfg.Nodes processes at once and
// times them from the first start to the last exit.
func (b *run) billingRun(ctx context.Context) error {
	type node struct {
		cmd *exec.Cmd
		log *os.File
	}
	nodes := make([]node, b.cfg.Nodes)
	for i := range nodes {
		cmd, log, err := b.command(ctx, fmt.Sprintf("bill-%d", i+1), "bill")
		if err != nil {
			return err
		}
		nodes[i] = node{cmd, log}
	}
	b.res.LoadAverage[0] = loadAverage()
	start := time.Now()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		if err := n.cmd.Start(); err != nil {
			return fmt.Errorf("bench: start korebill bill: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.cmd.Wait()
		}()
	}
	wg.Wait()
	b.res.Run = time.Since(start)
	b.res.LoadAverage[1] = loadAverage()
	for i, n := range nodes {
		n.log.Close()
		b.res.RunCPU += n.cmd.ProcessState.UserTime() + n.cmd.ProcessState.SystemTime()
		if ru, ok := n.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss := ru.Maxrss * 1024
			b.res.RunRSS = max(b.res.RunRSS, rss)
			b.res.RunRSSSum += rss
		}
		if errs[i] != nil {
			return fmt.Errorf("bench: korebill bill (process %d): %w\n%s", i+1, errs[i], tail(n.log.Name()))
		}
	}
	return nil
}

// databaseSize is the SQLite file with its WAL, or the PostgreSQL schema's
// tables with their indexes and TOAST.
func (b *run) databaseSize(ctx context.Context) (int64, error) {
	if b.c.postgres() {
		var n int64
		err := b.c.sql().QueryRowContext(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
			FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
			WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'm')`).Scan(&n)
		return n, err
	}
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(b.url + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n, nil
}

// serveReady starts `korebill serve` on the loaded database and measures
// the time from starting the process to its first answer 200 from
// GET /readyz; then stops it.
func (b *run) serveReady(ctx context.Context) (time.Duration, error) {
	p, err := b.serve(ctx, "serve-ready")
	if err != nil {
		return 0, err
	}
	p.stop()
	return p.ready, nil
}

// proc is a `korebill serve` the bench started.
type proc struct {
	cmd    *exec.Cmd
	log    *os.File
	base   string // http://127.0.0.1:port
	ready  time.Duration
	exited chan struct{}
}

// serve starts `korebill serve` on a free loopback port and returns once it
// is ready.
func (b *run) serve(ctx context.Context, name string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd, log, err := b.command(ctx, name, "serve", "--addr", addr)
	if err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, log: log, base: "http://" + addr, exited: make(chan struct{})}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("bench: start korebill serve: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(ctx, 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("bench: korebill serve: %w\n%s", err, tail(log.Name()))
	}
	p.ready = time.Since(start)
	return p, nil
}

// waitReady polls GET /readyz until it answers 200, the process exits, or
// limit passes.
func (p *proc) waitReady(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("it exited before it was ready")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", limit)
}

// stop ends the server as Ctrl-C would and waits for it to exit.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.log.Close()
}

// selfCPU is the user and system time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's 1-minute load average, "?" where unknown:
// on a shared machine, what the times were measured under.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}
