package webhook

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/billing"
)

// EventWriter writes an event and its deliveries in the caller's
// transaction: one delivery per enabled endpoint that wants the event's
// type. It sets ev.CreatedAt when it is zero.
type EventWriter interface {
	CreateWebhookEventTx(ctx context.Context, tx *sql.Tx, ev *Event) ([]*Delivery, error)
}

// Store keeps endpoints, events, deliveries and their attempts; the store
// package implements it on SQLite and PostgreSQL. Changes an operator makes
// are audited; deliveries and attempts are system work and are not.
type Store interface {
	EventWriter

	// CreateWebhookEndpoint validates e, gives it a new secret when it has
	// none, stores it and sets its ID and timestamps.
	CreateWebhookEndpoint(ctx context.Context, e *Endpoint) error
	FindWebhookEndpoints(ctx context.Context) ([]*Endpoint, error)
	// FindWebhookEndpointByID returns ENOTFOUND for an unknown id.
	FindWebhookEndpointByID(ctx context.Context, id int64) (*Endpoint, error)
	UpdateWebhookEndpoint(ctx context.Context, id int64, upd EndpointUpdate) (*Endpoint, error)
	// DeleteWebhookEndpoint removes the endpoint; its deliveries stay in
	// the log, without it.
	DeleteWebhookEndpoint(ctx context.Context, id int64) error

	FindWebhookEvent(ctx context.Context, id string) (*Event, error)
	FindWebhookEvents(ctx context.Context, f EventFilter) ([]*Event, int, error)
	FindWebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, int, error)
	// FindWebhookDelivery returns the delivery with its event, its endpoint
	// and its attempts.
	FindWebhookDelivery(ctx context.Context, id int64) (*Delivery, error)

	// RecordWebhookAttempt adds a to the delivery's log (numbering it) and
	// moves the delivery to status, with next as its next attempt time.
	RecordWebhookAttempt(ctx context.Context, a *Attempt, status DeliveryStatus, next *time.Time) error

	// ReplayWebhookDelivery makes a delivery that is not pending pending
	// again and calls enqueue in the same transaction. ESTATE when it is
	// pending or its endpoint is gone or disabled.
	ReplayWebhookDelivery(ctx context.Context, id int64, enqueue func(*sql.Tx, *Delivery) error) (*Delivery, error)
	// ReplayWebhookEvent makes pending again the event's deliveries to every
	// enabled endpoint that wants it (adding deliveries for endpoints made
	// since), except those already pending, and calls enqueue with them in
	// the same transaction.
	ReplayWebhookEvent(ctx context.Context, id string, enqueue func(*sql.Tx, []*Delivery) error) ([]*Delivery, error)
}

// Inserter enqueues a River job in the caller's transaction;
// *jobs.Runner is one.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// PublishTx publishes ev in tx, the transaction of the change that causes
// it: it writes the event, one delivery per enabled endpoint that wants it
// and one delivery job each. If tx rolls back, nothing was published; if it
// commits, every delivery will be attempted. It returns the event as
// written (with its ID and CreatedAt) and its deliveries.
func PublishTx(ctx context.Context, tx *sql.Tx, w EventWriter, jobs Inserter, ev Event) (*Event, []*Delivery, error) {
	if err := ev.Validate(); err != nil {
		return nil, nil, err
	}
	ev.ID = NewEventID()
	deliveries, err := w.CreateWebhookEventTx(ctx, tx, &ev)
	if err != nil {
		return nil, nil, err
	}
	if err := enqueue(ctx, tx, jobs, deliveries); err != nil {
		return nil, nil, err
	}
	return &ev, deliveries, nil
}

func enqueue(ctx context.Context, tx *sql.Tx, jobs Inserter, deliveries []*Delivery) error {
	for _, d := range deliveries {
		if err := jobs.InsertTx(ctx, tx, DeliverArgs{DeliveryID: d.ID}, nil); err != nil {
			return err
		}
	}
	return nil
}

// Options tune delivery; zero values take the defaults.
type Options struct {
	// Timeout bounds one attempt, from connecting to the end of the
	// response headers (default 10s). A receiver that takes longer has
	// failed the attempt.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is
	// failed (default 12); a replay gives it as many again.
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1, 2, …) before the next
	// (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// Client sends the requests (default: an http.Client that follows no
	// redirects).
	Client *http.Client
	// Clock stamps signatures and attempts (default the wall clock: a
	// receiver checks the signature's age against its own).
	Clock billing.Clock
	// UserAgent is sent with every request (default "Korebill-Webhooks/1").
	UserAgent string
	// AllowPrivate allows endpoints on loopback, private and link-local
	// addresses (address.go); off by default.
	AllowPrivate bool
}

// DefaultBackoff waits 30 s after the first failed attempt and doubles the
// wait after each next one, up to 6 hours: 30s, 1m, 2m, … 4h16m, 6h. Twelve
// attempts span about fifteen hours.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = 30 * time.Second, 6 * time.Hour
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 20 {
		return ceiling
	}
	return min(base<<(attempt-1), ceiling)
}

// Service is what operators and the engine use: endpoints, publishing,
// the delivery log, replays; and the delivery worker.
type Service struct {
	store  Store
	jobs   Inserter
	log    *slog.Logger
	opts   Options
	client *http.Client
}

// New returns a service on store. Register its worker on the job runner,
// then give it the runner with SetJobs before it publishes or replays.
func New(store Store, logger *slog.Logger, opts Options) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 12
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Clock == nil {
		opts.Clock = billing.SystemClock{}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Korebill-Webhooks/1"
	}
	client := opts.Client
	if client == nil {
		// A redirect is an answer that is not 2xx: the endpoint is
		// misconfigured, and following it would send the signed event
		// somewhere the operator did not name.
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		if !opts.AllowPrivate {
			// Every address dialed is checked, after name resolution; no
			// proxy, which would make the dialed address the proxy's.
			t := http.DefaultTransport.(*http.Transport).Clone()
			t.Proxy = nil
			t.DialContext = (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second, Control: refusePrivateDial}).DialContext
			client.Transport = t
		}
	}
	return &Service{store: store, log: logger, opts: opts, client: client}
}

// SetJobs gives the service the job runner it enqueues deliveries with.
func (s *Service) SetJobs(jobs Inserter) { s.jobs = jobs }

func (s *Service) inserter() (Inserter, error) {
	if s.jobs == nil {
		return nil, billing.Errorf(billing.EINTERNAL, "webhook: no job runner (SetJobs was not called)")
	}
	return s.jobs, nil
}

// Publisher publishes events in a change's transaction; *Service is one.
// The engine holds one (nil: webhooks off) and calls it through
// store.Tx.PublishWebhook.
type Publisher interface {
	PublishTx(ctx context.Context, tx *sql.Tx, ev Event) (*Event, error)
}

var _ Publisher = (*Service)(nil)

// PublishTx publishes ev in tx with the service's store and runner; see the
// package function PublishTx.
func (s *Service) PublishTx(ctx context.Context, tx *sql.Tx, ev Event) (*Event, error) {
	jobs, err := s.inserter()
	if err != nil {
		return nil, err
	}
	out, _, err := PublishTx(ctx, tx, s.store, jobs, ev)
	return out, err
}

// CreateEndpoint stores a new endpoint and returns it with its secret, which
// is shown this once.
func (s *Service) CreateEndpoint(ctx context.Context, e *Endpoint) error {
	e.Secret = ""
	if !s.opts.AllowPrivate {
		if err := checkDestination(ctx, strings.TrimSpace(e.URL)); err != nil {
			return err
		}
	}
	return s.store.CreateWebhookEndpoint(ctx, e)
}

// Endpoints lists every endpoint, oldest first.
func (s *Service) Endpoints(ctx context.Context) ([]*Endpoint, error) {
	return s.store.FindWebhookEndpoints(ctx)
}

// Endpoint returns one endpoint.
func (s *Service) Endpoint(ctx context.Context, id int64) (*Endpoint, error) {
	return s.store.FindWebhookEndpointByID(ctx, id)
}

// UpdateEndpoint changes an endpoint: its URL, description, event types,
// whether it is disabled, and (RotateSecret) its secret.
func (s *Service) UpdateEndpoint(ctx context.Context, id int64, upd EndpointUpdate) (*Endpoint, error) {
	if upd.URL != nil && !s.opts.AllowPrivate {
		if err := checkDestination(ctx, strings.TrimSpace(*upd.URL)); err != nil {
			return nil, err
		}
	}
	return s.store.UpdateWebhookEndpoint(ctx, id, upd)
}

// DeleteEndpoint removes an endpoint; its pending deliveries fail at their
// next attempt.
func (s *Service) DeleteEndpoint(ctx context.Context, id int64) error {
	return s.store.DeleteWebhookEndpoint(ctx, id)
}

// Events lists events, newest first, and how many match.
func (s *Service) Events(ctx context.Context, f EventFilter) ([]*Event, int, error) {
	return s.store.FindWebhookEvents(ctx, f)
}

// Event returns one event.
func (s *Service) Event(ctx context.Context, id string) (*Event, error) {
	return s.store.FindWebhookEvent(ctx, id)
}

// Deliveries lists deliveries, newest first, and how many match.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, int, error) {
	return s.store.FindWebhookDeliveries(ctx, f)
}

// Delivery returns one delivery with its event and its attempts.
func (s *Service) Delivery(ctx context.Context, id int64) (*Delivery, error) {
	return s.store.FindWebhookDelivery(ctx, id)
}

// ReplayDelivery sends a delivered or failed delivery again, now.
func (s *Service) ReplayDelivery(ctx context.Context, id int64) (*Delivery, error) {
	jobs, err := s.inserter()
	if err != nil {
		return nil, err
	}
	return s.store.ReplayWebhookDelivery(ctx, id, func(tx *sql.Tx, d *Delivery) error {
		return enqueue(ctx, tx, jobs, []*Delivery{d})
	})
}

// ReplayEvent sends an event again, now, to every enabled endpoint that
// wants it, except where a delivery of it is already pending.
func (s *Service) ReplayEvent(ctx context.Context, id string) ([]*Delivery, error) {
	jobs, err := s.inserter()
	if err != nil {
		return nil, err
	}
	return s.store.ReplayWebhookEvent(ctx, id, func(tx *sql.Tx, ds []*Delivery) error {
		return enqueue(ctx, tx, jobs, ds)
	})
}
