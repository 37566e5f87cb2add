package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/kore-billing/korebill/bench"
)

// BenchConfig is the configuration of `korebill bench`.
type BenchConfig struct {
	Accounts     int
	DatabaseURL  string
	Nodes        int
	Keep         bool
	HTTP         bool
	HTTPRates    string
	HTTPDuration time.Duration
}

// benchFlagSet reads the flags of `korebill bench`. Its --database-url has
// no environment fallback: the bench makes a fresh database, and a
// KOREBILL_DATABASE_URL meant for the service must not be taken for it.
func (m *Main) benchFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("korebill bench", flag.ContinueOnError)
	c := &m.Config.Bench
	fs.IntVar(&c.Accounts, "accounts", 10000, "accounts with a renewal due to load and bill")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "postgres:// URL (a fresh schema is made in it and dropped after), "+
		"or a SQLite file that does not exist yet; empty: SQLite in a temporary directory")
	fs.IntVar(&c.Nodes, "nodes", 1, "korebill bill processes at once (PostgreSQL)")
	fs.BoolVar(&c.Keep, "keep", false, "keep the database afterwards and print its --database-url")
	fs.BoolVar(&c.HTTP, "http", false, "after the run, serve the database and drive its reads at fixed rates (loopback)")
	fs.StringVar(&c.HTTPRates, "http-rates", "200,500,1000", "requests a second of the load run, each route at each rate")
	fs.DurationVar(&c.HTTPDuration, "http-duration", 5*time.Second, "how long each route runs at each rate")
	return fs
}

func (m *Main) runBench(ctx context.Context) error {
	c := m.Config.Bench
	cfg := bench.Config{Accounts: c.Accounts, DatabaseURL: c.DatabaseURL, Nodes: c.Nodes, Keep: c.Keep,
		Command: m.BenchCommand, Stdout: m.Stdout, Stderr: m.Stderr}
	if c.HTTP {
		cfg.HTTP = bench.HTTPConfig{Enabled: true, Duration: c.HTTPDuration}
		for _, f := range strings.Split(c.HTTPRates, ",") {
			r, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || r <= 0 {
				return fmt.Errorf("--http-rates %q: want requests a second such as 200,500,1000", c.HTTPRates)
			}
			cfg.HTTP.Rates = append(cfg.HTTP.Rates, r)
		}
	}
	_, err := bench.Run(ctx, cfg)
	return err
}

// benchCommand is how the bench starts korebill: nil runs this executable.
type benchCommand = func(ctx context.Context, args ...string) *exec.Cmd
