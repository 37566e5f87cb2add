package main_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	main "github.com/kore-billing/korebill/cmd/korebill"
	"github.com/kore-billing/korebill/store/storetest"
)

// benchLine is the last line of `korebill bench`, which scripts read.
var benchLine = regexp.MustCompile(`^invoices=(\d+) seconds=([0-9.]+) invoices_per_s=([0-9.]+) floor_seconds=([0-9.]+) floor_ratio=([0-9.]+) peak_rss_mb=(\d+)$`)

// runBench runs `korebill bench` in-process; the korebill processes it
// starts (migrate, bill, serve) are this test binary run as korebill
// (TestMain).
func runBench(t *testing.T, args ...string) (string, error) {
	t.Helper()
	m := main.NewMain()
	out := &syncBuffer{}
	m.Stdout = out
	m.BenchCommand = func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), "KOREBILL_TEST_MAIN="+strings.Join(args, " "))
		return cmd
	}
	if err := m.ParseFlags(context.Background(), append([]string{"bench"}, args...)); err != nil {
		t.Fatalf("parse flags: %v", err)
	}
	err := m.Run(context.Background())
	if cerr := m.Close(); cerr != nil {
		t.Errorf("close: %v", cerr)
	}
	return out.String(), err
}

// The bench bills its accounts with the real `korebill bill`, checks that
// each was billed exactly once, and ends with the figures line. Not timed:
// only the result is asserted.
func TestBench_BillsEveryAccountOnceAndReports(t *testing.T) {
	const n = 100
	check := func(t *testing.T, args ...string) {
		out, err := runBench(t, append([]string{"--accounts", strconv.Itoa(n)}, args...)...)
		if err != nil {
			t.Fatalf("bench: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		mm := benchLine.FindStringSubmatch(last)
		if mm == nil {
			t.Fatalf("last line %q does not parse; output:\n%s", last, out)
		}
		if mm[1] != strconv.Itoa(n) {
			t.Errorf("invoices=%s, want %d", mm[1], n)
		}
		for i, name := range []string{"seconds", "invoices_per_s", "floor_seconds", "floor_ratio", "peak_rss_mb"} {
			if v, _ := strconv.ParseFloat(mm[i+2], 64); v <= 0 {
				t.Errorf("%s=%s, want a positive figure", name, mm[i+2])
			}
		}
		if !strings.Contains(out, "check: ok: 100 accounts, each billed once") {
			t.Errorf("no passing check in the output:\n%s", out)
		}
		for _, want := range []string{"rows written per account: ", "invoices 1.00", "payments 1.00", "serve: korebill serve ready"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if slices.Contains(args, "--http") {
			// Every route answered, signed in and authorized: an answer
			// other than 200 is reported as "<status> from <path>".
			for _, route := range []string{"API  GET /v1/accounts/{number}/subscription", "page GET /accounts/{number}/summary",
				"API  GET /v1/accounts/{number}/history", "page GET /accounts/{number}/history",
				"API  GET /v1/accounts/{number}/invoices/{invoice}/statement.pdf"} {
				if !strings.Contains(out, route) {
					t.Errorf("no load figures for %s:\n%s", route, out)
				}
			}
			if regexp.MustCompile(`e\.g\. \d{3} from /`).MatchString(out) {
				t.Errorf("a route answered with an error status under load:\n%s", out)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		check(t, "--http", "--http-rates", "5", "--http-duration", "1s")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		base := os.Getenv(storetest.PostgresURLEnv)
		if base == "" {
			storetest.SkipOrFail(t, storetest.PostgresURLEnv+" not set")
		}
		check(t, "--database-url", base)
	})
}

func TestBench_RefusesAnExistingSQLiteFile(t *testing.T) {
	path := t.TempDir() + "/exists.db"
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runBench(t, "--accounts", "1", "--database-url", path)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("bench on an existing file: %v", err)
	}
}
