package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// scheduled records the bill jobs the engine asks for, as the job runner
// would enqueue them in the change's transaction.
type scheduled struct {
	mu  sync.Mutex
	ats map[int64][]time.Time
}

func (s *scheduled) option() option {
	return func(c *engine.Config) {
		c.Schedule = func(_ context.Context, _ *store.Tx, accountID int64, at time.Time) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.ats[accountID] = append(s.ats[accountID], at)
			return nil
		}
	}
}

func (s *scheduled) last(id int64) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ats[id]) == 0 {
		return time.Time{}
	}
	return s.ats[id][len(s.ats[id])-1]
}

// The next billing is scheduled in the change's transaction, at local
// midnight of the renewal in the account's zone, and moves with renewals.
func TestSchedule_NextBillingAtLocalMidnightOfTheRenewal(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		s := &scheduled{ats: map[int64][]time.Time{}}
		b := newBundle(t, db, "2026-01-31T15:00:00Z", s.option())
		a := b.account(t, "Acme", inZone("America/New_York"))
		if err := b.users(t, a, 2); err != nil {
			t.Fatal(err)
		}
		b.confirm(t, a, premium(billing.Month, 2))
		// 31 Jan in New York → the period ends 28 Feb, renewed at 00:00 EST (05:00 UTC).
		if got, want := s.last(a.ID), time.Date(2026, 2, 28, 5, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Fatalf("scheduled %v, want %v", got, want)
		}
		b.at(t, "2026-02-28 00:30", "America/New_York")
		b.bill(t, a)
		// Renewed: the next one is 31 March at 00:00 EDT (04:00 UTC, after the DST change).
		if got, want := s.last(a.ID), time.Date(2026, 3, 31, 4, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Fatalf("after renewal scheduled %v, want %v", got, want)
		}
		// That the job commits with the change, and a rolled-back change
		// leaves none, is jobs' TestRunner_EnqueueCommitsWithTheChange.
	})
}
