// Package testclock advances test clocks: it moves a clock forward and runs,
// for every account attached to it, everything that falls due on the way,
// in time order, as the real scheduler would. It holds no rules of its own:
// the billing is the engine's.
package testclock

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// Biller runs everything due for one account at its clock's time.
type Biller interface {
	BillAccount(ctx context.Context, accountID int64) error
}

// MaxAdvance bounds one advance, so that a typo cannot keep a node busy.
const MaxAdvance = 5 * 366 * 24 * time.Hour

// Clocks advances test clocks.
type Clocks struct {
	db     *store.DB
	biller Biller

	mu    sync.Mutex
	locks map[int64]*sync.Mutex
	queue Queue
}

// New returns Clocks over the store and the engine.
func New(db *store.DB, biller Biller) *Clocks {
	return &Clocks{db: db, biller: biller, locks: map[int64]*sync.Mutex{}}
}

// Result says what an advance did.
type Result struct {
	Clock    *billing.TestClock `json:"clock"`
	Steps    int                `json:"steps"`
	Accounts int                `json:"accounts"`
}

// Advance moves clock id to t. Billing happens at the local midnight that
// starts a day (renewals, period starts, credits) in each attached
// account's zone, so the clock stops at every local midnight on the way,
// bills every attached account there, and finally stops at t. Each stop is
// what the scheduler would see if the time were real.
func (c *Clocks) Advance(ctx context.Context, id int64, to time.Time) (Result, error) {
	lock := c.lock(id)
	lock.Lock()
	defer lock.Unlock()

	clock, err := c.db.FindTestClock(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if to.Before(clock.Now) {
		return Result{}, billing.ReasonErrorf(billing.EINVALID, "test_clock_backwards",
			"Test clock %d is at %s; it only moves forward.", id, clock.Now.Format(time.RFC3339))
	}
	if to.Sub(clock.Now) > MaxAdvance {
		return Result{}, billing.ReasonErrorf(billing.EINVALID, "test_clock_too_far",
			"Advance a test clock at most five years at a time.")
	}
	ids, err := c.db.TestClockAccounts(ctx, id)
	if err != nil {
		return Result{}, err
	}
	zones := map[string]*time.Location{}
	for _, aid := range ids {
		a, err := c.db.FindAccountByID(ctx, aid)
		if err != nil {
			return Result{}, err
		}
		zones[a.TimeZone] = a.Location()
	}
	steps := stops(clock.Now, to, zones)
	for _, at := range steps {
		if err := c.db.SetTestClockNow(ctx, id, at); err != nil {
			return Result{}, err
		}
		for _, aid := range ids {
			if err := c.biller.BillAccount(ctx, aid); err != nil {
				return Result{}, fmt.Errorf("advance test clock %d to %s: bill account %d: %w", id, at.Format(time.RFC3339), aid, err)
			}
		}
	}
	clock, err = c.db.FindTestClock(ctx, id)
	if err != nil {
		return Result{}, err
	}
	return Result{Clock: clock, Steps: len(steps), Accounts: len(ids)}, nil
}

// stops returns the instants after from, up to and including to, at which
// the clock stops: every local midnight in each zone, and to.
func stops(from, to time.Time, zones map[string]*time.Location) []time.Time {
	var out []time.Time
	for _, loc := range zones {
		for d := billing.DateOf(from, loc).AddDays(1); ; d = d.AddDays(1) {
			at := d.Midnight(loc)
			if at.After(to) {
				break
			}
			out = append(out, at.UTC())
		}
	}
	if to.After(from) {
		out = append(out, to.UTC())
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

func (c *Clocks) lock(id int64) *sync.Mutex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks[id] == nil {
		c.locks[id] = &sync.Mutex{}
	}
	return c.locks[id]
}

// Queue enqueues the job that advances a clock, in the transaction that
// marks it advancing (*jobs.Runner).
type Queue interface {
	EnqueueTestClockAdvance(ctx context.Context, tx *sql.Tx, clockID int64) error
}

// SetQueue makes Start enqueue a job; without a queue Start runs the
// advance in a goroutine of this process, detached from the request.
func (c *Clocks) SetQueue(q Queue) { c.queue = q }

// Start is an advance as a request asks for one: it checks the time, marks
// the clock advancing to it and enqueues the job that moves it (RunAdvance),
// and returns at once with the clock advancing. The advance does not run
// inside the request: a client that disconnects, or a server that stops
// answering it, leaves the job to finish (River runs it again after a
// crash, and it resumes where the clock stopped).
func (c *Clocks) Start(ctx context.Context, id int64, to time.Time) (*billing.TestClock, error) {
	clock, err := c.db.FindTestClock(ctx, id)
	if err != nil {
		return nil, err
	}
	if to.Sub(clock.Now) > MaxAdvance {
		return nil, billing.ReasonErrorf(billing.EINVALID, "test_clock_too_far",
			"Advance a test clock at most five years at a time.")
	}
	var enqueue func(tx *sql.Tx) error
	if c.queue != nil {
		enqueue = func(tx *sql.Tx) error { return c.queue.EnqueueTestClockAdvance(ctx, tx, id) }
	}
	out, err := c.db.StartTestClockAdvance(ctx, id, to, enqueue)
	if err != nil {
		return nil, err
	}
	if c.queue == nil {
		go func() { _ = c.RunAdvance(context.WithoutCancel(ctx), id) }()
	}
	return out, nil
}

// RunAdvance is the job: it moves an advancing clock to its advance_to,
// billing on the way (Advance), and marks it ready, with the error that
// stopped it short if one did. A clock that is not advancing is left alone.
func (c *Clocks) RunAdvance(ctx context.Context, id int64) error {
	clock, err := c.db.FindTestClock(ctx, id)
	if err != nil {
		return err
	}
	if clock.Status != billing.TestClockAdvancing || clock.AdvanceTo == nil {
		return nil
	}
	msg := ""
	if _, err := c.Advance(ctx, id, *clock.AdvanceTo); err != nil {
		if ctx.Err() != nil {
			return err // stopped, not failed: the job runs again and resumes
		}
		msg = billing.ErrorMessage(err)
	}
	return c.db.FinishTestClockAdvance(context.WithoutCancel(ctx), id, msg)
}

// Wait waits until the clock is ready (tests, the demo), polling.
func (c *Clocks) Wait(ctx context.Context, id int64) (*billing.TestClock, error) {
	for {
		clock, err := c.db.FindTestClock(ctx, id)
		if err != nil || clock.Status == billing.TestClockReady {
			return clock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// AdvanceTestClock is Start for the API: the clock, advancing.
func (c *Clocks) AdvanceTestClock(ctx context.Context, id int64, to time.Time) (*billing.TestClock, error) {
	return c.Start(ctx, id, to)
}
