package console_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/riverqueue/river"

	"github.com/kore-billing/korebill/api"
	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/console"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/testclock"
	"github.com/kore-billing/korebill/webhook"
)

// opsBundle is setup's bundle with a console that has every operator
// service: webhooks (jobs recorded, not run), the email outbox (recorded,
// no SMTP), test clocks, and test mode as asked.
type opsBundle struct {
	*bundle
	webhooks *webhook.Service
	mail     *mail.Service
	jobs     *fakeJobs
	runs     *inProcessRuns
}

// fakeJobs takes River jobs and runs none.
type fakeJobs struct{ n int }

func (j *fakeJobs) InsertTx(context.Context, *sql.Tx, river.JobArgs, *river.InsertOpts) error {
	j.n++
	return nil
}

// inProcessRuns is the job queue's billing runs, run in this process: a
// run starts in the background, as a job would, and bills with the
// engine's RunDue, its progress kept for the page.
type inProcessRuns struct {
	eng  *engine.Engine
	mu   sync.Mutex
	runs []console.BillingRun
	wg   sync.WaitGroup
}

func (f *inProcessRuns) StartRun(ctx context.Context, due int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := int64(len(f.runs) + 1)
	f.runs = append(f.runs, console.BillingRun{ID: id, State: "running", DueAtStart: due, CreatedAt: engineStart})
	i := len(f.runs) - 1
	f.wg.Go(func() {
		set := func(s engine.RunSummary, state string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			r := &f.runs[i]
			r.State, r.Due, r.Billed, r.Failed, r.Invoices, r.Renewals, r.Payments, r.Credits =
				state, s.Due, s.Billed, s.Failed, s.Invoices, s.Renewals, s.Payments, s.Credits
		}
		sum, err := f.eng.RunDue(opsCtx(), engine.RunOptions{Progress: func(s engine.RunSummary) { set(s, "running") }})
		state := "completed"
		if err != nil {
			state = "retryable"
		}
		set(sum, state)
	})
	return id, nil
}

func (f *inProcessRuns) RecentRuns(context.Context, int) ([]console.BillingRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.runs)
	slices.Reverse(out)
	return out, nil
}

// fakeBillJobs is the job queue's list of bill jobs.
type fakeBillJobs []console.BillJob

func (f fakeBillJobs) RecentBillJobs(context.Context, int) ([]console.BillJob, error) { return f, nil }

func setupOperator(t *testing.T, db *store.DB, testMode bool) *opsBundle {
	t.Helper()
	b := setup(t, db)
	ob := &opsBundle{bundle: b, jobs: &fakeJobs{}, runs: &inProcessRuns{eng: b.eng}}
	t.Cleanup(ob.runs.wg.Wait)
	ob.webhooks = webhook.New(db, nil, webhook.Options{AllowPrivate: true}) // tests deliver to httptest servers on loopback
	ob.webhooks.SetJobs(ob.jobs)
	ob.mail = mail.New(db, nil, nil, mail.Options{})
	apiServer := api.New(api.Config{Services: api.Services{
		Accounts: db, Profiles: db, Catalog: db, Users: db, Audit: db, Keys: db,
	}})
	cs, err := console.New(console.Config{
		Services: console.Services{Accounts: db, Profiles: db, Audit: db, Users: db, Engine: b.eng,
			Webhooks: ob.webhooks, Emails: ob.mail, Clocks: testclock.New(db, b.eng.Jobs()),
			BillJobs: fakeBillJobs{{ID: 7, AccountID: b.acme.ID, State: "completed", Attempt: 1, ScheduledAt: engineStart,
				FinishedAt: &engineStart}},
			Runs: ob.runs},
		Sessions: db.Sessions(),
		Logger:   slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		TestMode: testMode,
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.Register(apiServer.Mux())
	b.console = cs
	b.srv.Close()
	b.srv = httptest.NewServer(apiServer.Handler())
	t.Cleanup(b.srv.Close)
	return ob
}

// publish records an event for acme, with one delivery per endpoint.
func (ob *opsBundle) publish(t *testing.T, typ webhook.EventType) {
	t.Helper()
	data, _ := json.Marshal(map[string]string{"account_number": ob.acme.Number, "invoice": "INV-2027-000001"})
	err := ob.db.InTx(opsCtx(), func(tx *store.Tx) error {
		_, err := tx.PublishWebhook(ob.webhooks, webhook.Event{Type: typ, AccountNumber: ob.acme.Number, Data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// email records an email to acme in the outbox.
func (ob *opsBundle) email(t *testing.T, subject, body string) {
	t.Helper()
	err := ob.db.InTx(opsCtx(), func(tx *store.Tx) error {
		return tx.QueueEmail(ob.mail, &mail.Message{AccountID: ob.acme.ID, Kind: mail.KindPaymentReceipt,
			To: []string{"billing@acme.test"}, Subject: subject, Text: body})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rows counts a table's rows.
func rows(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var _ = billing.Money{}
