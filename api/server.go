package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

// Services are the domain services the API calls.
type Services struct {
	Accounts billing.AccountService
	Profiles billing.ProfileService
	Catalog  billing.CatalogService
	Users    billing.ManagedUserService
	Audit    billing.AuditService
	Keys     billing.APIKeyService
	// Idempotency keeps Idempotency-Key responses; nil turns the header off.
	Idempotency IdempotencyStore
	// TestClocks and Clocks serve test clocks, in test mode only.
	TestClocks TestClockService
	Clocks     TestClockAdvancer
	// Engine runs subscriptions, invoices, contracts, credits and tax
	// rates; with it, account creation and the managed-user roster go
	// through it too, where the seat rules apply.
	Engine *engine.Engine
	// Webhooks manages webhook endpoints, the delivery log and replays
	// (*webhook.Service); Emails lists the email outbox (*mail.Service).
	// Without them their routes answer 501.
	Webhooks WebhookService
	Emails   EmailOutbox
	// PaymentLabels names the card printed on a statement; nil prints none.
	PaymentLabels PaymentMethodLabeler
}

// Config builds a Server.
type Config struct {
	Services
	Logger  *slog.Logger
	Version string
	// Ready reports whether the service can serve (the database answers).
	Ready func(context.Context) error
	// TestMode allows test clocks; production servers leave it off.
	TestMode bool
	// MetricsKey, when set, is a bearer token /metrics requires.
	MetricsKey string
	// MetricsElsewhere leaves /metrics off the API's routes: it is served
	// by MetricsHandler on a listener of its own (korebill serve
	// --metrics-addr).
	MetricsElsewhere bool
	// Collectors are more Prometheus metrics served at /metrics (the
	// billing runs' of the job runner).
	Collectors []prometheus.Collector
	// IdempotencyLease is how long a request holds its Idempotency-Key
	// without renewing it (DefaultIdempotencyLease when 0): a retry of a
	// request whose process died runs after at most this long.
	IdempotencyLease time.Duration
}

// latencyBuckets are the request latency histogram's bounds in seconds,
// with the targets of docs/benchmarks.md among them: 10 ms for an API read
// (Account Summary), 20 ms for a console page.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Server holds the API's handlers.
type Server struct {
	Services
	log     *slog.Logger
	version string
	ready   func(context.Context) error
	// TestMode allows test clocks.
	TestMode bool
	api      huma.API
	// idempotencyLease: see Config.IdempotencyLease.
	idempotencyLease time.Duration
	mux              *http.ServeMux
	metrics          http.Handler
	registry         *prometheus.Registry
	requests         *prometheus.CounterVec
	latency          *prometheus.HistogramVec
}

// New builds the API and registers its routes on a fresh mux.
func New(c Config) *Server {
	s := &Server{
		Services: c.Services,
		log:      c.Logger,
		version:  c.Version,
		ready:    c.Ready,
		TestMode: c.TestMode,
		mux:      http.NewServeMux(),
		registry: prometheus.NewRegistry(),

		idempotencyLease: c.IdempotencyLease,
	}
	if s.idempotencyLease <= 0 {
		s.idempotencyLease = DefaultIdempotencyLease
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.version == "" {
		s.version = "dev"
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "korebill_http_requests_total", Help: "HTTP requests by route pattern and status.",
	}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "korebill_http_request_duration_seconds", Help: "HTTP request latency by route pattern (API and console).",
		Buckets: latencyBuckets,
	}, []string{"route", "method"})
	s.registry.MustRegister(c.Collectors...)
	s.registry.MustRegister(s.requests, s.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	cfg := huma.DefaultConfig("Kore Billing API", s.version)
	cfg.Info.Description = "The billing module of the Kore admin console. Authenticate with " +
		"`Authorization: Bearer <api key>`. Errors are RFC 9457 problem details with a stable `code`."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key (kb_…), shown once when created."},
	}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	cfg.DocsPath = "/docs"
	// Links to JSON schemas in every body would make responses noisy and
	// unknown-field checks of echoed bodies fail; clients read openapi.json.
	cfg.CreateHooks = nil
	cfg.OnAddOperation = append(cfg.OnAddOperation, documentIdempotencyKey)
	s.api = humago.New(s.mux, cfg)
	s.api.UseMiddleware(s.authenticate)

	s.registerAccounts()
	s.registerProfile()
	s.registerCatalog()
	s.registerUsers()
	s.registerAudit()
	s.registerKeys()
	s.registerTestClocks()
	s.withEngine()
	s.registerSubscriptions()
	s.registerContracts()
	s.registerInvoices()
	s.registerStatements()
	s.registerTaxRates()
	s.registerSignupCredits()
	s.registerWebhooks()
	s.registerEmails()
	s.registerPayments()
	s.registerHistory()
	s.registerReports()

	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	})
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.metrics = promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	if c.MetricsKey != "" {
		s.metrics = requireBearer(c.MetricsKey, s.metrics)
	}
	if !c.MetricsElsewhere {
		s.mux.Handle("GET /metrics", s.metrics)
	}
	// An unknown API path is a problem, not the console's "Page not found"
	// page (which answers every other unknown path) nor Go's plain text.
	s.mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, billing.ENOTFOUND, "There is no API operation at "+r.Method+" "+r.URL.Path+".")
	})
	return s
}

// MetricsHandler serves the Prometheus metrics (behind the metrics key, if
// any), for a listener of its own.
func (s *Server) MetricsHandler() http.Handler { return s.metrics }

// requireBearer answers 401 to a request without "Authorization: Bearer
// key", comparing in constant time.
func requireBearer(key string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + key))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="korebill metrics"`)
			writeProblem(w, http.StatusUnauthorized, billing.EUNAUTHORIZED, "The metrics need 'Authorization: Bearer <metrics key>'.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Handler returns the API's routes wrapped in request IDs, logging, metrics,
// panic recovery, the text check of every input (text.go) and
// Idempotency-Key handling.
func (s *Server) Handler() http.Handler { return s.Wrap(s.checkText(s.idempotent(s.mux))) }

// Mux returns the mux the API routes are on, so that the console can add
// its pages beside them.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// OpenAPI returns the OpenAPI 3.1 document, indented, as served at
// /openapi.json.
func (s *Server) OpenAPI() ([]byte, error) {
	b, err := json.MarshalIndent(s.api.OpenAPI(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal openapi: %w", err)
	}
	return append(b, '\n'), nil
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.logger(ctx).WarnContext(ctx, "not ready", slog.Any("err", err))
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type logKey struct{}

// logger returns the request's logger (with its request ID and actor).
func (s *Server) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return s.log
}

// LoggerFrom returns the logger the request middleware put in ctx, or def.
func LoggerFrom(ctx context.Context, def *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return def
}

type infoKey struct{}

// requestInfo lets handlers deep in the chain tell the request's log line
// who the actor was.
type requestInfo struct{ actor string }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Wrap adds to h what every request gets: an X-Request-ID (the client's if
// it sent a sane one), a logger carrying it, a log line per request, metrics
// by route pattern, and recovery from panics as a 500 problem.
func (s *Server) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if len(id) == 0 || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-ID", id)
		l := s.log.With(slog.String("request_id", id))
		info := &requestInfo{}
		ctx := context.WithValue(r.Context(), logKey{}, l)
		r = r.WithContext(context.WithValue(ctx, infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				l.ErrorContext(r.Context(), "panic", slog.Any("panic", v))
				if sw.status == 0 {
					writeJSON(sw, 500, &Problem{Status: 500, Title: "Internal Server Error", Detail: "Internal error.", Code: billing.EINTERNAL})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			s.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			s.latency.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
			if route != "GET /healthz" && route != "GET /metrics" {
				l.InfoContext(r.Context(), "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", status), slog.Duration("elapsed", elapsed),
					slog.String("actor", info.actor))
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

// documentIdempotencyKey adds the Idempotency-Key header, which the
// idempotent middleware handles, to every state-changing operation.
func documentIdempotencyKey(_ *huma.OpenAPI, op *huma.Operation) {
	if op.Method == http.MethodGet || op.Method == http.MethodHead {
		return
	}
	op.Parameters = append(op.Parameters, &huma.Param{
		Name: "Idempotency-Key", In: "header",
		Description: "Send the same key to retry safely: the same key and body replays the first response " +
			"(24 hours); the same key with another body is refused (idempotency_key_reused).",
		Schema: &huma.Schema{Type: "string", MinLength: ptr(1), MaxLength: ptr(255)},
	})
}

func ptr[T any](v T) *T { return &v }
