package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/billing"
)

// Queue is the River queue of delivery jobs; the job runner must work it
// (jobs.Options.Queues), so that a receiver that hangs holds up webhooks
// only, not billing or email.
const Queue = "webhook"

// maxJobAttempts is River's ceiling for a delivery job. The worker fails
// the delivery itself after Options.MaxAttempts, which is at most this.
const maxJobAttempts = 50

// DeliverArgs is the job that attempts one delivery.
type DeliverArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job in River's table.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// InsertOpts puts delivery jobs on Queue.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxJobAttempts}
}

// Register adds the delivery worker to a job runner's workers; pass it as
// (part of) jobs.Options.Register.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &deliverWorker{s: s})
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// NextRetry is the service's backoff: River's own would retry a receiver
// that is down for hours far too often, then give up too soon.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return w.s.opts.Clock.Now().Add(w.s.opts.Backoff(job.Attempt))
}

// Timeout leaves the attempt its own timeout and the time to record it.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.s.opts.Timeout + 30*time.Second
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	d, err := s.store.FindWebhookDelivery(ctx, job.Args.DeliveryID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return river.JobCancel(err)
	} else if err != nil {
		return fmt.Errorf("webhook delivery %d: %w", job.Args.DeliveryID, err)
	}
	if d.Status != DeliveryPending {
		// A job left over from before a replay, or one that River runs again
		// after a crash between recording and completing: nothing to do.
		return nil
	}
	log := s.log.With(slog.Int64("delivery_id", d.ID), slog.String("event_id", d.EventID),
		slog.String("event_type", string(d.EventType)), slog.Int("job_attempt", job.Attempt))

	maxAttempts := min(s.opts.MaxAttempts, maxJobAttempts, job.MaxAttempts)
	final := job.Attempt >= maxAttempts
	var a *Attempt
	switch {
	case d.Endpoint == nil:
		a = &Attempt{DeliveryID: d.ID, At: s.opts.Clock.Now(), Error: "The endpoint was deleted."}
		final = true
	case d.Endpoint.Disabled():
		a = &Attempt{DeliveryID: d.ID, At: s.opts.Clock.Now(), URL: d.Endpoint.URL, Error: "The endpoint is disabled."}
		final = true
	default:
		a = s.post(ctx, d)
	}

	ok := a.Error == ""
	status, next := DeliveryPending, (*time.Time)(nil)
	switch {
	case ok:
		status = DeliveryDelivered
	case final:
		status = DeliveryFailed
	default:
		t := a.At.Add(s.opts.Backoff(job.Attempt))
		next = &t
	}
	// Record even when the job's context has ended (a receiver that hung
	// past the job's timeout): the attempt happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := s.store.RecordWebhookAttempt(rctx, a, status, next); err != nil {
		return fmt.Errorf("webhook delivery %d: record attempt: %w", d.ID, err)
	}
	attrs := []any{slog.Int("attempt", a.Attempt), slog.Int("status_code", a.StatusCode),
		slog.Duration("duration", a.Duration), slog.String("delivery_status", string(status))}
	switch {
	case ok:
		log.Info("webhook delivered", attrs...)
		return nil
	case final:
		log.Warn("webhook delivery failed for good", append(attrs, slog.String("error", a.Error))...)
		return river.JobCancel(errors.New(a.Error))
	default:
		log.Info("webhook attempt failed; will retry", append(attrs, slog.String("error", a.Error), slog.Time("next_attempt_at", *next))...)
		return errors.New(a.Error)
	}
}

// maxResponse is how much of a response body the log keeps.
const maxResponse = 1024

// post makes one attempt: it POSTs the event's body, signed now, and says
// how it went. A 2xx is a delivery; any other answer, no answer within the
// timeout, or no connection is a failed attempt.
func (s *Service) post(ctx context.Context, d *Delivery) *Attempt {
	now := s.opts.Clock.Now()
	a := &Attempt{DeliveryID: d.ID, At: now, URL: d.Endpoint.URL}
	body, err := d.Event.Body()
	if err != nil {
		a.Error = "Internal error: " + err.Error()
		return a
	}
	// The attempt's duration is measured from the moment its timeout
	// starts, so an attempt cut off by the timeout never reads as shorter.
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = "The request could not be made: " + err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.opts.UserAgent)
	req.Header.Set(EventIDHeader, d.EventID)
	req.Header.Set(EventTypeHeader, string(d.EventType))
	req.Header.Set(SignatureHeader, Sign(d.Endpoint.Secret, now, body))

	resp, err := s.client.Do(req)
	if err != nil {
		a.Duration = time.Since(start)
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
			a.Error = fmt.Sprintf("No answer within %s.", s.opts.Timeout)
		default:
			a.Error = "No answer: " + err.Error()
		}
		return a
	}
	// A 2xx status that came in time is a delivery, even if the rest of
	// the body does not.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	a.Duration = time.Since(start)
	a.StatusCode = resp.StatusCode
	a.Response = cleanText(snippet)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Error = fmt.Sprintf("The endpoint answered %d %s.", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return a
}

// cleanText makes a response body storable text: valid UTF-8 without NUL
// (which PostgreSQL's text refuses).
func cleanText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}
