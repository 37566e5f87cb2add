package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/billing"
)

// Writer writes a message to the outbox in the caller's transaction,
// setting its ID and timestamps.
type Writer interface {
	CreateEmailTx(ctx context.Context, tx *sql.Tx, m *Message) error
}

// Store is the outbox; the store package implements it on SQLite and
// PostgreSQL.
type Store interface {
	Writer
	// FindEmails returns a page of messages, newest first, and how many
	// match.
	FindEmails(ctx context.Context, f Filter) ([]*Message, int, error)
	// FindEmailByID returns the message; ENOTFOUND for an unknown id.
	FindEmailByID(ctx context.Context, id int64) (*Message, error)
	// RecordEmailAttempt moves a message to status with lastError;
	// attempted counts an attempt to send it (recording a message without
	// SMTP is none).
	RecordEmailAttempt(ctx context.Context, id int64, status Status, lastError string, attempted bool) error
}

// Inserter enqueues a River job in the caller's transaction;
// *jobs.Runner is one.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// QueueTx puts m in the outbox in tx, the transaction of the change it tells
// of. With jobs, m is queued and a job that sends it commits with tx; with
// jobs nil (no SMTP server configured), m is only recorded (status
// "recorded"), which is not an error.
func QueueTx(ctx context.Context, tx *sql.Tx, w Writer, jobs Inserter, m *Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.Status, m.Attempts, m.LastError, m.SentAt = StatusQueued, 0, "", nil
	if jobs == nil {
		m.Status = StatusRecorded
	}
	if err := w.CreateEmailTx(ctx, tx, m); err != nil {
		return err
	}
	if jobs == nil {
		return nil
	}
	return jobs.InsertTx(ctx, tx, SendArgs{EmailID: m.ID}, nil)
}

// Queue is the River queue of send jobs; the job runner must work it
// (jobs.Options.Queues).
const Queue = "mail"

const maxJobAttempts = 50

// SendArgs is the job that sends one message.
type SendArgs struct {
	EmailID int64 `json:"email_id"`
}

// Kind names the job in River's table.
func (SendArgs) Kind() string { return "mail_send" }

// InsertOpts puts send jobs on Queue.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxJobAttempts}
}

// Options tune sending; zero values take the defaults.
type Options struct {
	// MaxAttempts is how many times a message is tried before it is
	// failed (default 8).
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1, 2, …) before the next
	// (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// Timeout bounds one attempt (default one minute).
	Timeout time.Duration
	// Render makes the file of an attachment (an invoice's statement PDF)
	// when the message is sent. It runs in the send job, outside any
	// write transaction; a failure is logged and retried like a refused
	// send. Nil: a message with attachments cannot be sent.
	Render RenderFunc
}

// RenderFunc renders an attachment's file from what it names (its
// invoice), as it stands when the message is sent.
type RenderFunc func(ctx context.Context, a Attachment) ([]byte, error)

// DefaultBackoff waits a minute after the first failed attempt and doubles
// the wait after each next one, up to 6 hours: eight attempts span about
// two hours.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = time.Minute, 6 * time.Hour
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 20 {
		return ceiling
	}
	return min(base<<(attempt-1), ceiling)
}

// Service queues and sends messages and lists the outbox.
type Service struct {
	store  Store
	sender Sender
	jobs   Inserter
	log    *slog.Logger
	opts   Options
}

// New returns a service on store that sends with sender; a nil sender (no
// SMTP configured) records messages without sending them. Register its
// worker on the job runner and give it the runner with SetJobs.
func New(store Store, sender Sender, logger *slog.Logger, opts Options) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &Service{store: store, sender: sender, log: logger, opts: opts}
}

// SetJobs gives the service the job runner it enqueues sends with.
func (s *Service) SetJobs(jobs Inserter) { s.jobs = jobs }

// Sending reports whether messages are sent (an SMTP server is
// configured), not only recorded.
func (s *Service) Sending() bool { return s.sender != nil }

// Queuer puts messages in the outbox in a change's transaction; *Service
// is one. The engine holds one (nil: email off) and calls it through
// store.Tx.QueueEmail.
type Queuer interface {
	QueueTx(ctx context.Context, tx *sql.Tx, m *Message) error
}

var _ Queuer = (*Service)(nil)

// QueueTx puts m in the outbox in tx: queued for sending when SMTP is
// configured, recorded when it is not.
func (s *Service) QueueTx(ctx context.Context, tx *sql.Tx, m *Message) error {
	if s.sender == nil {
		return QueueTx(ctx, tx, s.store, nil, m)
	}
	if s.jobs == nil {
		return billing.Errorf(billing.EINTERNAL, "mail: no job runner (SetJobs was not called)")
	}
	return QueueTx(ctx, tx, s.store, s.jobs, m)
}

// Emails lists the outbox, newest first, and how many match.
func (s *Service) Emails(ctx context.Context, f Filter) ([]*Message, int, error) {
	return s.store.FindEmails(ctx, f)
}

// Email returns one message.
func (s *Service) Email(ctx context.Context, id int64) (*Message, error) {
	return s.store.FindEmailByID(ctx, id)
}

// Register adds the send worker to a job runner's workers; pass it as (part
// of) jobs.Options.Register.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &sendWorker{s: s})
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	return time.Now().Add(w.s.opts.Backoff(job.Attempt))
}

func (w *sendWorker) Timeout(*river.Job[SendArgs]) time.Duration {
	return w.s.opts.Timeout + 30*time.Second
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	s := w.s
	m, err := s.store.FindEmailByID(ctx, job.Args.EmailID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return river.JobCancel(err)
	} else if err != nil {
		return fmt.Errorf("email %d: %w", job.Args.EmailID, err)
	}
	if m.Status != StatusQueued {
		return nil // sent already: River ran the job again after a crash
	}
	log := s.log.With(slog.Int64("email_id", m.ID), slog.String("kind", string(m.Kind)),
		slog.Int("attempt", job.Attempt))
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if s.sender == nil {
		// This node has no SMTP server (another had when it was queued).
		return s.store.RecordEmailAttempt(rctx, m.ID, StatusRecorded, "", false)
	}

	sctx, scancel := context.WithTimeout(ctx, s.opts.Timeout)
	sendErr := s.render(sctx, m)
	if sendErr == nil {
		sendErr = s.sender.Send(sctx, m)
	}
	scancel()
	if sendErr == nil {
		if err := s.store.RecordEmailAttempt(rctx, m.ID, StatusSent, "", true); err != nil {
			// Sending again would send it twice: leave it, and say so.
			log.Error("email sent but not marked sent", slog.Any("err", err))
			return river.JobCancel(fmt.Errorf("email %d was sent but could not be marked sent: %w", m.ID, err))
		}
		log.Info("email sent")
		return nil
	}
	final := job.Attempt >= min(s.opts.MaxAttempts, maxJobAttempts, job.MaxAttempts)
	status := StatusQueued
	if final {
		status = StatusFailed
	}
	if err := s.store.RecordEmailAttempt(rctx, m.ID, status, sendErr.Error(), true); err != nil {
		return fmt.Errorf("email %d: record attempt: %w", m.ID, errors.Join(sendErr, err))
	}
	if final {
		log.Warn("email failed for good", slog.Any("err", sendErr))
		return river.JobCancel(sendErr)
	}
	log.Warn("email attempt failed; will retry", slog.Any("err", sendErr),
		slog.Duration("retry_in", s.opts.Backoff(job.Attempt)))
	return sendErr
}

// render fills the data of m's attachments: the statements are made now,
// by the send job, never in the transaction that queued the message.
func (s *Service) render(ctx context.Context, m *Message) error {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if s.opts.Render == nil {
			return fmt.Errorf("render %s: no renderer is configured (mail.Options.Render)", a.Filename)
		}
		data, err := s.opts.Render(ctx, *a)
		if err != nil {
			return fmt.Errorf("render %s: %w", a.Filename, err)
		}
		a.Data = data
	}
	return nil
}
