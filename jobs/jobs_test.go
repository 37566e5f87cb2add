package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// recordingBiller reports a fixed set of due accounts until they are billed,
// as the engine does, and records each billing.
type recordingBiller struct {
	mu     sync.Mutex
	due    map[int64]bool
	billed map[int64]int
	done   chan int64
}

func newBiller(due ...int64) *recordingBiller {
	b := &recordingBiller{due: map[int64]bool{}, billed: map[int64]int{}, done: make(chan int64, 100)}
	for _, id := range due {
		b.due[id] = true
	}
	return b
}

func (b *recordingBiller) DueAccounts(_ context.Context, limit int) ([]int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int64
	for id := range b.due {
		if len(out) < limit {
			out = append(out, id)
		}
	}
	return out, nil
}

func (b *recordingBiller) BillAccount(_ context.Context, id int64) error {
	b.mu.Lock()
	delete(b.due, id)
	b.billed[id]++
	b.mu.Unlock()
	b.done <- id
	return nil
}

func startRunner(t *testing.T, db *store.DB, b jobs.Biller) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(db, b, nil, jobs.Options{PollInterval: 100 * time.Millisecond, FindDueEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return r
}

func waitBilled(t *testing.T, b *recordingBiller, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("only %d of %d accounts billed in 15s", i, n)
		}
	}
}

func TestRunner_FinderBillsEveryDueAccountOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := newBiller(1, 2, 3)
		startRunner(t, db, b)
		waitBilled(t, b, 3)
		time.Sleep(300 * time.Millisecond) // let any duplicate show itself
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, id := range []int64{1, 2, 3} {
			if b.billed[id] != 1 {
				t.Errorf("account %d billed %d times, want 1", id, b.billed[id])
			}
		}
	})
}

func TestRunner_EnqueueCommitsWithTheChange(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := newBiller()
		r := startRunner(t, db, b)
		ctx := context.Background()

		// A rolled-back change leaves no job behind.
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.EnqueueBillTx(ctx, tx, 41, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		// A committed one runs.
		tx, err = db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.EnqueueBillTx(ctx, tx, 42, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		waitBilled(t, b, 1)
		time.Sleep(300 * time.Millisecond)
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.billed[42] != 1 || b.billed[41] != 0 {
			t.Errorf("billed = %v, want only account 42, once", b.billed)
		}
	})
}

func TestRunner_PrunesAtStart(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		pruned := make(chan struct{}, 10)
		r, err := jobs.New(db, newBiller(), nil, jobs.Options{PollInterval: 100 * time.Millisecond, FindDueEvery: time.Hour,
			Prune: func(context.Context) error { pruned <- struct{}{}; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := r.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(ctx)
		select {
		case <-pruned:
		case <-time.After(15 * time.Second):
			t.Fatal("the prune job did not run at start")
		}
	})
}
