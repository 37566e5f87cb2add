// Package testclock advances test clocks: it moves a clock forward and runs,
// for every account attached to it, everything that falls due on the way,
// in time order, as the real scheduler would. It holds no rules of its own:
// the billing is the engine's.
package testclock

import (
	"context"
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

// AdvanceTestClock is Advance for the API: the clock where it stopped.
func (c *Clocks) AdvanceTestClock(ctx context.Context, id int64, to time.Time) (*billing.TestClock, error) {
	r, err := c.Advance(ctx, id, to)
	if err != nil {
		return nil, err
	}
	return r.Clock, nil
}
