package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// HTTPConfig is the load run of `korebill bench --http`.
type HTTPConfig struct {
	Enabled  bool
	Rates    []int         // requests a second, each route at each rate in turn
	Duration time.Duration // of each route at each rate
}

// HTTPResult is one route at one rate.
type HTTPResult struct {
	Route         string
	Rate          int
	Sent          int
	Errors        int // transport errors, timeouts, answers other than 200, and requests not sent (too many in flight)
	ErrorSample   string
	P50, P99, Max time.Duration
}

// maxInFlight bounds the requests the generator has open at once; a request
// due while that many are open is not sent and counts as an error.
const maxInFlight = 2000

// requestTimeout is the longest the generator waits for one answer.
const requestTimeout = 10 * time.Second

// loadRoute is one read the load run drives: its route pattern and how to
// make the URL of the i-th request.
type loadRoute struct {
	name string
	path func(r *rand.Rand) string
}

// httpLoad serves the billed database with `korebill serve` and drives
// Account Summary (API and console), Billing History (API and console) and
// a statement PDF, each at each rate for the configured time, with an
// open-loop generator: requests leave on a fixed schedule whatever the
// answers, and a request's latency counts from when it was due, so a slow
// server cannot slow the load down and hide its own queue.
func (b *run) httpLoad(ctx context.Context) error {
	ctx = billing.NewContextWithActor(ctx, billing.Actor{Name: "cli:bench", Role: billing.RoleOperator})
	key, err := b.c.db.CreateAPIKey(ctx, &billing.APIKey{Name: "bench", Role: billing.RoleOperator})
	if err != nil {
		return fmt.Errorf("bench: api key: %w", err)
	}
	password := store.GeneratePassword()
	const email = "bench@localhost"
	if err := b.c.db.CreateConsoleUser(ctx, &store.ConsoleUser{Email: email, Name: "Bench", Role: billing.RoleOperator}, password); err != nil {
		return fmt.Errorf("bench: console user: %w", err)
	}
	pairs, err := b.invoicePairs(ctx, 10000)
	if err != nil {
		return err
	}

	p, err := b.serve(ctx, "serve-http")
	if err != nil {
		return err
	}
	defer p.stop()
	tr := &http.Transport{MaxIdleConns: maxInFlight, MaxIdleConnsPerHost: maxInFlight, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	jar, _ := cookiejar.New(nil)
	// A redirect is an answer, not followed: a page that sends the signed-in
	// client to /login has failed.
	client := &http.Client{Transport: tr, Jar: jar, Timeout: requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := signIn(ctx, client, p.base, email, password); err != nil {
		return err
	}

	account := func(r *rand.Rand) invoicePair { return pairs[r.IntN(len(pairs))] }
	routes := []loadRoute{
		{"API  GET /v1/accounts/{number}/subscription", func(r *rand.Rand) string {
			return "/v1/accounts/" + account(r).account + "/subscription"
		}},
		{"page GET /accounts/{number}/summary", func(r *rand.Rand) string {
			return "/accounts/" + account(r).account + "/summary"
		}},
		{"API  GET /v1/accounts/{number}/history", func(r *rand.Rand) string {
			return "/v1/accounts/" + account(r).account + "/history"
		}},
		{"page GET /accounts/{number}/history", func(r *rand.Rand) string {
			return "/accounts/" + account(r).account + "/history"
		}},
		{"API  GET /v1/accounts/{number}/invoices/{invoice}/statement.pdf", func(r *rand.Rand) string {
			a := account(r)
			return "/v1/accounts/" + a.account + "/invoices/" + a.invoice + "/statement.pdf"
		}},
	}
	b.printf("http: korebill serve on %s (ready in %d ms); open loop, %s per route and rate, accounts picked at random; latency from when each request was due\n",
		p.base, p.ready.Milliseconds(), b.cfg.HTTP.Duration)
	b.printf("  %-62s %6s %7s %7s %9s %9s %9s\n", "route", "rate/s", "sent", "errors", "p50", "p99", "max")
	for _, rt := range routes {
		for _, rate := range b.cfg.HTTP.Rates {
			settle(ctx, client, p.base)
			res := drive(ctx, client, p.base, key, rt, rate, b.cfg.HTTP.Duration)
			b.res.HTTP = append(b.res.HTTP, res)
			sample := ""
			if res.ErrorSample != "" {
				sample = "  e.g. " + res.ErrorSample
			}
			b.printf("  %-62s %6d %7d %7d %9s %9s %9s%s\n", rt.name, rate, res.Sent, res.Errors,
				round(res.P50), round(res.P99), round(res.Max), sample)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	p.stop()
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		b.printf("  korebill serve peak RSS %.0f MB\n", float64(ru.Maxrss)/1024)
	}
	return nil
}

// settle waits (at most 30 s) until the server answers GET /healthz within
// 20 ms, so that one step does not start on the queue the last one left.
func settle(ctx context.Context, client *http.Client, base string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		start := time.Now()
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if time.Since(start) < 20*time.Millisecond {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type invoicePair struct{ account, invoice string }

// invoicePairs are up to limit accounts with an invoice of theirs.
func (b *run) invoicePairs(ctx context.Context, limit int) ([]invoicePair, error) {
	rows, err := b.c.sql().QueryContext(ctx, `SELECT a.number, i.number FROM invoices i JOIN accounts a ON a.id = i.account_id
		WHERE i.number IS NOT NULL ORDER BY i.id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("bench: invoices: %w", err)
	}
	defer rows.Close()
	var out []invoicePair
	for rows.Next() {
		var p invoicePair
		if err := rows.Scan(&p.account, &p.invoice); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no invoices to read")
	}
	return out, nil
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn signs the client's cookie jar in to the console as a person
// would: the form (with its CSRF token), then the post.
func signIn(ctx context.Context, client *http.Client, base, email, password string) error {
	resp, err := client.Get(base + "/login")
	if err != nil {
		return fmt.Errorf("bench: sign in: %w", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("bench: sign in: no csrf_token in the form (status %d)", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {string(m[1])}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: sign in: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("bench: sign in: %d, want 303", resp.StatusCode)
	}
	return nil
}

// drive sends rate requests a second of route for d on a fixed schedule and
// measures each from when it was due to its last byte.
func drive(ctx context.Context, client *http.Client, base, key string, rt loadRoute, rate int, d time.Duration) HTTPResult {
	res := HTTPResult{Route: rt.name, Rate: rate}
	n := max(1, int(float64(rate)*d.Seconds()))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	fail := func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors++
		if res.ErrorSample == "" {
			res.ErrorSample = msg
		}
	}
	slots := make(chan struct{}, maxInFlight)
	rng := rand.New(rand.NewPCG(uint64(rate), 42))
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		if ctx.Err() != nil {
			break
		}
		res.Sent++
		select {
		case slots <- struct{}{}:
		default:
			lat[i] = -1
			fail("not sent: too many requests in flight")
			continue
		}
		path := rt.path(rng)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				lat[i] = -1
				fail(err.Error())
				return
			}
			if strings.HasPrefix(path, "/v1/") {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := client.Do(req)
			if err != nil {
				lat[i] = time.Since(due)
				fail(err.Error())
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat[i] = time.Since(due)
			if resp.StatusCode != http.StatusOK {
				msg := fmt.Sprintf("%d from %s", resp.StatusCode, path)
				if loc := resp.Header.Get("Location"); loc != "" {
					msg += " to " + loc
				}
				fail(msg)
			}
		}()
	}
	wg.Wait()
	var ds []time.Duration
	for _, l := range lat[:res.Sent] {
		if l > 0 {
			ds = append(ds, l)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	res.P50, res.P99, res.Max = quantile(ds, 0.5), quantile(ds, 0.99), quantile(ds, 1)
	return res
}
