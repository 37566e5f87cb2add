package stripegateway_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Stripe gateway's end-to-end tests run against stripe-mock. Its address
// comes from KOREBILL_TEST_STRIPE_MOCK_URL (.ci/run starts one and sets it);
// without it, a stripe-mock found on PATH is started on loopback for this
// package's tests. Without either the tests skip, or fail when
// KOREBILL_TEST_REQUIRE_ALL is set, as it is in CI.
var (
	mockURL    string
	mockAbsent string // why there is no stripe-mock
)

func TestMain(m *testing.M) {
	stop := findStripeMock()
	code := m.Run()
	stop()
	os.Exit(code)
}

func findStripeMock() (stop func()) {
	if u := os.Getenv("KOREBILL_TEST_STRIPE_MOCK_URL"); u != "" {
		mockURL = strings.TrimRight(u, "/")
		return func() {}
	}
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		mockAbsent = "stripe-mock is not running: set KOREBILL_TEST_STRIPE_MOCK_URL, or put stripe-mock on PATH " +
			"(go install github.com/stripe/stripe-mock@v0.203.0)"
		return func() {}
	}
	// Both listeners on loopback with ports the system picks: stripe-mock
	// opens HTTPS on every interface unless told otherwise.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	out, err := cmd.StdoutPipe()
	if err == nil {
		cmd.Stderr = cmd.Stdout
		err = cmd.Start()
	}
	if err != nil {
		mockAbsent = fmt.Sprintf("starting %s: %v", bin, err)
		return func() {}
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				found <- addr
			}
		}
	}()
	select {
	case addr := <-found:
		mockURL = "http://" + addr
	case <-time.After(30 * time.Second):
		mockAbsent = "stripe-mock did not say where it listens within 30s"
	}
	return stop
}

// needMock returns stripe-mock's address, or skips (fails in CI) without one.
func needMock(t *testing.T) string {
	t.Helper()
	if mockURL == "" {
		if os.Getenv("KOREBILL_TEST_REQUIRE_ALL") != "" {
			t.Fatal(mockAbsent)
		}
		t.Skip(mockAbsent)
	}
	return mockURL
}

// recorded is one request as it left the gateway.
type recorded struct {
	Method, Path   string
	IdempotencyKey string
	Form           url.Values
}

// recorder is an http.RoundTripper that records every request and can lose
// the answers to the first few, as a network that drops a response after the
// server acted would.
type recorder struct {
	next http.RoundTripper

	mu      sync.Mutex
	reqs    []recorded
	loseFor int
}

func newRecorder() *recorder { return &recorder{next: http.DefaultTransport} }

func (r *recorder) client() *http.Client {
	return &http.Client{Transport: r, Timeout: 10 * time.Second}
}

// loseAnswers makes the next n requests reach the server and then fail.
func (r *recorder) loseAnswers(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loseFor = n
}

var errLostAnswer = errors.New("test: connection reset after the request was sent")

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	form, _ := url.ParseQuery(string(body))
	for k, v := range req.URL.Query() { // a GET's parameters
		form[k] = append(form[k], v...)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key"), Form: form})
	lose := r.loseFor > 0
	if lose {
		r.loseFor--
	}
	r.mu.Unlock()

	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	resp, err := r.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if lose {
		_ = resp.Body.Close()
		return nil, errLostAnswer
	}
	return resp, nil
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}
