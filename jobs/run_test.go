package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
)

// batchBiller bills its due accounts in batches of two, reporting progress
// after each, as the engine's RunDue does.
type batchBiller struct {
	*recordingBiller
	runs int
}

func (b *batchBiller) RunDue(ctx context.Context, progress func(jobs.RunStats)) (jobs.RunStats, error) {
	b.mu.Lock()
	b.runs++
	b.mu.Unlock()
	var s jobs.RunStats
	for {
		ids, _ := b.DueAccounts(ctx, 2)
		if len(ids) == 0 {
			return s, nil
		}
		for _, id := range ids {
			_ = b.BillAccount(ctx, id)
			s.Due++
			s.Billed++
			s.Invoices++
		}
		progress(s)
	}
}

// The finder starts one billing run rather than a job per account when
// the runner bills in batches; the run's progress is the job's output, and
// it lists as completed with what it did.
func TestRunner_FinderStartsABillingRunThatRecordsItsProgress(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := &batchBiller{recordingBiller: newBiller(1, 2, 3, 4, 5)}
		r, err := jobs.New(db, b, nil, jobs.Options{PollInterval: 100 * time.Millisecond, FindDueEvery: time.Hour, Run: b})
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
		waitBilled(t, b.recordingBiller, 5)
		var runs []jobs.RunJob
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if runs, err = r.RecentRuns(ctx, 10); err != nil {
				t.Fatal(err)
			}
			if len(runs) == 1 && runs[0].State == "completed" || time.Now().After(deadline) {
				break
			}
		}
		if len(runs) != 1 {
			t.Fatalf("runs = %+v, want one", runs)
		}
		run := runs[0]
		if run.State != "completed" || run.DueAtStart != 5 || !run.Stats.Done || run.Stats.Billed != 5 || run.Stats.Invoices != 5 {
			t.Fatalf("run = %+v", run)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		for id := int64(1); id <= 5; id++ {
			if b.billed[id] != 1 {
				t.Errorf("account %d billed %d times", id, b.billed[id])
			}
		}
		if b.runs != 1 {
			t.Errorf("%d runs, want 1", b.runs)
		}
	})
}
