package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/jobs"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/webhook"
)

// idleBiller has nothing due: the runner works only webhook jobs.
type idleBiller struct{}

func (idleBiller) DueAccounts(context.Context, int) ([]int64, error) { return nil, nil }
func (idleBiller) BillAccount(context.Context, int64) error          { return nil }

// request is one POST a receiver got.
type request struct {
	path   string
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP endpoint that records every request and answers
// as respond says (200 when respond is nil).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []request
	respond func(n int, r *http.Request) int // n counts requests to r's path, from 1
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, request{path: r.URL.Path, header: r.Header.Clone(), body: body, at: time.Now()})
		n := 0
		for _, g := range rc.got {
			if g.path == r.URL.Path {
				n++
			}
		}
		respond := rc.respond
		rc.mu.Unlock()
		status := http.StatusOK
		if respond != nil {
			status = respond(n, r)
		}
		if status == 0 { // hang until the sender gives up
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests(path string) []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []request
	for _, g := range rc.got {
		if path == "" || g.path == path {
			out = append(out, g)
		}
	}
	return out
}

type testBundle struct {
	db  *store.DB
	svc *webhook.Service
	rc  *receiver
}

var system = billing.NewContextWithActor(context.Background(), billing.SystemActor)

// setup starts a River runner working webhook jobs on db, with tiny retry
// delays unless opts says otherwise, and a receiver.
func setup(t *testing.T, db *store.DB, opts webhook.Options) *testBundle {
	t.Helper()
	if opts.Backoff == nil {
		opts.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	svc := webhook.New(db, nil, opts)
	runner, err := jobs.New(db, idleBiller{}, nil, jobs.Options{
		PollInterval: 100 * time.Millisecond, FindDueEvery: time.Hour,
		Register: svc.Register, Queues: map[string]int{webhook.Queue: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetJobs(runner)
	if err := runner.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := runner.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := runner.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return &testBundle{db: db, svc: svc, rc: newReceiver(t)}
}

func (b *testBundle) endpoint(t *testing.T, path string, types ...webhook.EventType) *webhook.Endpoint {
	t.Helper()
	e := &webhook.Endpoint{URL: b.rc.srv.URL + path, EventTypes: types}
	if err := b.svc.CreateEndpoint(system, e); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("secret = %q", e.Secret)
	}
	return e
}

// publish publishes ev in a transaction of its own, committed.
func (b *testBundle) publish(t *testing.T, ev webhook.Event) *webhook.Event {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	out, err := b.svc.PublishTx(ctx, tx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds, failing after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *testBundle) deliveries(t *testing.T, f webhook.DeliveryFilter) []*webhook.Delivery {
	t.Helper()
	ds, _, err := b.svc.Deliveries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func (b *testBundle) delivery(t *testing.T, id int64) *webhook.Delivery {
	t.Helper()
	d, err := b.svc.Delivery(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitStatus waits until the delivery has status and returns it with its log.
func (b *testBundle) waitStatus(t *testing.T, id int64, status webhook.DeliveryStatus) *webhook.Delivery {
	t.Helper()
	var d *webhook.Delivery
	waitFor(t, fmt.Sprintf("delivery %d to be %s", id, status), func() bool {
		d = b.delivery(t, id)
		return d.Status == status
	})
	return d
}

// checkSigned verifies a request as a receiver would and returns its payload.
func checkSigned(t *testing.T, secret string, r request) webhook.Payload {
	t.Helper()
	if err := webhook.Verify(secret, r.header.Get(webhook.SignatureHeader), r.body, webhook.DefaultTolerance, time.Now()); err != nil {
		t.Fatalf("signature of %s: %v", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var p webhook.Payload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if got := r.header.Get(webhook.EventIDHeader); got != p.ID {
		t.Errorf("%s = %q, body id %q", webhook.EventIDHeader, got, p.ID)
	}
	return p
}

func TestPublish_EveryEventArrivesOnceVerifiablySigned(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true})
		all := b.endpoint(t, "/all")
		paid := b.endpoint(t, "/paid", webhook.InvoicePaid)
		off := b.endpoint(t, "/off")
		if _, err := b.svc.UpdateEndpoint(system, off.ID, webhook.EndpointUpdate{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}

		published := map[string]*webhook.Event{}
		for i, typ := range webhook.EventTypes() {
			ev := b.publish(t, webhook.Event{Type: typ, AccountNumber: "KB-000001",
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"invoice_number":"INV-2026-%06d"}`, i, i))})
			published[ev.ID] = ev
		}
		waitFor(t, "every event at /all and invoice.paid at /paid", func() bool {
			return len(b.rc.requests("/all")) >= len(published) && len(b.rc.requests("/paid")) >= 1
		})
		time.Sleep(500 * time.Millisecond) // let any duplicate show itself

		seen := map[string]int{}
		for _, r := range b.rc.requests("/all") {
			p := checkSigned(t, all.Secret, r)
			seen[p.ID]++
			ev := published[p.ID]
			if ev == nil {
				t.Fatalf("unknown event %s arrived", p.ID)
			}
			if p.Type != ev.Type || p.AccountNumber != "KB-000001" || !p.CreatedAt.Equal(ev.CreatedAt) ||
				string(p.Data) != string(ev.Data) {
				t.Errorf("payload %+v, published %+v", p, ev)
			}
			if got := r.header.Get(webhook.EventTypeHeader); got != string(ev.Type) {
				t.Errorf("%s = %q", webhook.EventTypeHeader, got)
			}
			// Signed for this endpoint only.
			if err := webhook.Verify(paid.Secret, r.header.Get(webhook.SignatureHeader), r.body, time.Minute, time.Now()); err == nil {
				t.Error("a request to /all verifies with another endpoint's secret")
			}
		}
		if len(seen) != len(published) {
			t.Errorf("%d distinct events arrived at /all, want %d", len(seen), len(published))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("event %s arrived %d times", id, n)
			}
		}
		if got := b.rc.requests("/paid"); len(got) != 1 || checkSigned(t, paid.Secret, got[0]).Type != webhook.InvoicePaid {
			t.Errorf("/paid got %d requests, want the one invoice.paid", len(got))
		}
		if got := b.rc.requests("/off"); len(got) != 0 {
			t.Errorf("the disabled endpoint got %d requests", len(got))
		}

		ds := b.deliveries(t, webhook.DeliveryFilter{EndpointID: all.ID})
		if len(ds) != len(published) {
			t.Fatalf("%d deliveries to /all, want %d", len(ds), len(published))
		}
		for _, d := range ds {
			d = b.delivery(t, d.ID)
			if d.Status != webhook.DeliveryDelivered || d.Attempts != 1 || d.DeliveredAt == nil || len(d.Log) != 1 ||
				d.Log[0].StatusCode != 200 || d.Log[0].Error != "" || d.Log[0].Response != "answer 200" {
				t.Errorf("delivery %+v, log %+v", d, d.Log)
			}
		}
		if n := len(b.deliveries(t, webhook.DeliveryFilter{EndpointID: off.ID})); n != 0 {
			t.Errorf("%d deliveries to the disabled endpoint", n)
		}
	})
}

func TestDelivery_ReceiverAnswering500IsRetriedUntil200(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true})
		b.rc.respond = func(n int, _ *http.Request) int {
			if n == 1 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}
		e := b.endpoint(t, "/flaky")
		ev := b.publish(t, webhook.Event{Type: webhook.PaymentFailed, AccountNumber: "KB-000002",
			Data: json.RawMessage(`{"amount":{"amount":1000,"currency":"USD"}}`)})
		ds := b.deliveries(t, webhook.DeliveryFilter{EventID: ev.ID})
		if len(ds) != 1 {
			t.Fatalf("deliveries = %d", len(ds))
		}
		d := b.waitStatus(t, ds[0].ID, webhook.DeliveryDelivered)
		if d.Attempts != 2 || len(d.Log) != 2 {
			t.Fatalf("attempts %d, log %+v", d.Attempts, d.Log)
		}
		first, second := d.Log[0], d.Log[1]
		if first.Attempt != 1 || first.StatusCode != 500 || !strings.Contains(first.Error, "500") ||
			second.Attempt != 2 || second.StatusCode != 200 || second.Error != "" {
			t.Errorf("log = %+v, %+v", first, second)
		}
		got := b.rc.requests("/flaky")
		if len(got) != 2 {
			t.Fatalf("receiver got %d requests, want 2", len(got))
		}
		for _, r := range got {
			if p := checkSigned(t, e.Secret, r); p.ID != ev.ID {
				t.Errorf("event id %s, want %s", p.ID, ev.ID)
			}
		}
		if string(got[0].body) != string(got[1].body) {
			t.Error("the retry's body differs from the first attempt's")
		}
	})
}

func TestDelivery_HangingReceiverTimesOutAndIsRetried(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		const timeout = 300 * time.Millisecond
		b := setup(t, db, webhook.Options{AllowPrivate: true, Timeout: timeout})
		b.rc.respond = func(n int, _ *http.Request) int {
			if n == 1 {
				return 0 // hang
			}
			return http.StatusNoContent
		}
		e := b.endpoint(t, "/slow")
		ev := b.publish(t, webhook.Event{Type: webhook.AccountSuspended, AccountNumber: "KB-000003"})
		d := b.waitStatus(t, b.deliveries(t, webhook.DeliveryFilter{EventID: ev.ID})[0].ID, webhook.DeliveryDelivered)
		if len(d.Log) != 2 {
			t.Fatalf("log = %+v", d.Log)
		}
		hung := d.Log[0]
		if hung.StatusCode != 0 || !strings.Contains(hung.Error, "No answer within 300ms") ||
			hung.Duration < timeout || hung.Duration > 5*time.Second {
			t.Errorf("hung attempt = %+v", hung)
		}
		if d.Log[1].StatusCode != 204 || d.Log[1].Error != "" {
			t.Errorf("second attempt = %+v", d.Log[1])
		}
		for _, r := range b.rc.requests("/slow") {
			if p := checkSigned(t, e.Secret, r); string(p.Data) != "{}" {
				t.Errorf("data = %s, want {}", p.Data)
			}
		}
	})
}

func TestDelivery_FailedAfterTheLastAttempt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true, MaxAttempts: 3})
		b.rc.respond = func(int, *http.Request) int { return http.StatusServiceUnavailable }
		b.endpoint(t, "/down")
		ev := b.publish(t, webhook.Event{Type: webhook.InvoiceFinalized, AccountNumber: "KB-000004"})
		id := b.deliveries(t, webhook.DeliveryFilter{EventID: ev.ID})[0].ID
		d := b.waitStatus(t, id, webhook.DeliveryFailed)
		time.Sleep(400 * time.Millisecond) // no attempt after the last
		d = b.delivery(t, id)
		if d.Attempts != 3 || len(d.Log) != 3 || d.NextAttemptAt != nil || d.LastStatusCode != 503 ||
			!strings.Contains(d.LastError, "503") {
			t.Errorf("delivery = %+v, log %d", d, len(d.Log))
		}
		if n := len(b.rc.requests("/down")); n != 3 {
			t.Errorf("receiver got %d requests, want 3", n)
		}
		failed := b.deliveries(t, webhook.DeliveryFilter{Status: webhook.DeliveryFailed})
		if len(failed) != 1 || failed[0].ID != id {
			t.Errorf("failed deliveries = %+v", failed)
		}
	})
}

func TestPublish_RolledBackTransactionPublishesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true})
		b.endpoint(t, "/all")
		ctx := context.Background()
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.PublishTx(ctx, tx, webhook.Event{Type: webhook.InvoicePaid, AccountNumber: "KB-000001"}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(700 * time.Millisecond)
		if n := len(b.rc.requests("")); n != 0 {
			t.Errorf("receiver got %d requests", n)
		}
		if _, total, err := b.svc.Events(ctx, webhook.EventFilter{}); err != nil || total != 0 {
			t.Errorf("events = %d, %v", total, err)
		}
		if ds := b.deliveries(t, webhook.DeliveryFilter{}); len(ds) != 0 {
			t.Errorf("deliveries = %+v", ds)
		}
	})
}

func TestPublish_BadEventIsRefusedAndWritesNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true})
		b.endpoint(t, "/all")
		ctx := context.Background()
		for _, ev := range []webhook.Event{
			{Type: "invoice.exploded"},
			{Type: ""},
			{Type: webhook.InvoicePaid, AccountNumber: "acme"},
			{Type: webhook.InvoicePaid, Data: json.RawMessage(`[1,2]`)},
		} {
			tx, err := db.SQL().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.svc.PublishTx(ctx, tx, ev)
			if billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("publish %+v: %v, want EINVALID", ev, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if _, total, _ := b.svc.Events(ctx, webhook.EventFilter{}); total != 0 {
			t.Errorf("%d events written", total)
		}
		if ds := b.deliveries(t, webhook.DeliveryFilter{}); len(ds) != 0 {
			t.Errorf("deliveries = %+v", ds)
		}
	})
}

func TestReplay_DeliveryAndEventAreSentAgain(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{AllowPrivate: true, MaxAttempts: 1})
		b.rc.respond = func(n int, r *http.Request) int {
			if n == 1 && r.URL.Path == "/r" {
				return http.StatusBadGateway // fails for good: MaxAttempts 1
			}
			return http.StatusOK
		}
		e := b.endpoint(t, "/r")
		ev := b.publish(t, webhook.Event{Type: webhook.AccountReactivated, AccountNumber: "KB-000005"})
		id := b.deliveries(t, webhook.DeliveryFilter{EventID: ev.ID})[0].ID
		b.waitStatus(t, id, webhook.DeliveryFailed)

		// An operator replays the failed delivery: it is sent again, and the
		// log keeps counting.
		d, err := b.svc.ReplayDelivery(system, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != webhook.DeliveryPending {
			t.Errorf("replayed delivery status %s", d.Status)
		}
		d = b.waitStatus(t, id, webhook.DeliveryDelivered)
		if d.Attempts != 2 || d.Log[1].Attempt != 2 || d.Log[1].StatusCode != 200 {
			t.Errorf("after replay: %+v, log %+v", d, d.Log)
		}

		// Replaying the event sends it to its endpoint again and to an
		// endpoint added since.
		late := b.endpoint(t, "/late", webhook.AccountReactivated)
		replayed, err := b.svc.ReplayEvent(system, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(replayed) != 2 {
			t.Fatalf("replayed %d deliveries, want 2", len(replayed))
		}
		for _, r := range replayed {
			b.waitStatus(t, r.ID, webhook.DeliveryDelivered)
		}
		got := b.rc.requests("/r")
		if len(got) != 3 {
			t.Fatalf("/r got %d requests, want 3", len(got))
		}
		for _, r := range got {
			if p := checkSigned(t, e.Secret, r); p.ID != ev.ID {
				t.Errorf("replayed event id %s, want %s", p.ID, ev.ID)
			}
		}
		if got := b.rc.requests("/late"); len(got) != 1 {
			t.Errorf("/late got %d requests, want 1", len(got))
		} else if p := checkSigned(t, late.Secret, got[0]); p.ID != ev.ID {
			t.Errorf("/late got event %s, want %s", p.ID, ev.ID)
		}

		// A pending delivery is not replayed: it will be attempted anyway.
		b.rc.respond = func(int, *http.Request) int { return 0 } // hang
		ev2 := b.publish(t, webhook.Event{Type: webhook.AccountReactivated, AccountNumber: "KB-000005"})
		pending := b.deliveries(t, webhook.DeliveryFilter{EventID: ev2.ID, EndpointID: e.ID})[0]
		if _, err := b.svc.ReplayDelivery(system, pending.ID); billing.ErrorCode(err) != billing.ESTATE {
			t.Errorf("replay of a pending delivery: %v, want ESTATE", err)
		}
	})
}

// Endpoints on loopback, private, link-local or other special addresses
// are refused when registered unless private endpoints are allowed (issue
// 9, defect 7).
func TestEndpoint_PrivateAddressesRefusedUnlessAllowed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		strict := webhook.New(db, nil, webhook.Options{})
		for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost/hook", "https://api.localhost./hook",
			"http://[::1]/hook", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/hook", "http://192.168.1.1/hook",
			"http://172.16.0.1/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook", "http://[fd00::1]/hook", "http://[::ffff:127.0.0.1]/hook"} {
			err := strict.CreateEndpoint(system, &webhook.Endpoint{URL: u})
			var e *billing.Error
			if !errors.As(err, &e) || e.Code != billing.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "url" ||
				!strings.Contains(e.Message, "--allow-private-webhooks") {
				t.Errorf("%s: err = %v, want refused naming url", u, err)
			}
		}
		public := &webhook.Endpoint{URL: "https://93.184.216.34/hook"}
		if err := strict.CreateEndpoint(system, public); err != nil {
			t.Fatalf("a public address: %v", err)
		}
		private := "http://10.1.2.3/hook"
		if _, err := strict.UpdateEndpoint(system, public.ID, webhook.EndpointUpdate{URL: &private}); billing.ErrorCode(err) != billing.EINVALID {
			t.Fatalf("update to a private address: %v", err)
		}
		if err := webhook.New(db, nil, webhook.Options{AllowPrivate: true}).CreateEndpoint(system, &webhook.Endpoint{URL: "http://127.0.0.1:8080/hook"}); err != nil {
			t.Fatalf("allowed: %v", err)
		}
	})
}

// A delivery checks the address it dials, after name resolution, so an
// endpoint whose name resolved to a public address when it was registered
// and to a private one now (DNS rebinding) is not delivered to.
func TestDelivery_PrivateAddressRefusedWhenDialed(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setup(t, db, webhook.Options{MaxAttempts: 1})
		// Registered as if its name had resolved elsewhere: straight into
		// the store, past the registration check.
		e := &webhook.Endpoint{URL: b.rc.srv.URL + "/rebound"}
		if err := db.CreateWebhookEndpoint(system, e); err != nil {
			t.Fatal(err)
		}
		ev := b.publish(t, webhook.Event{Type: webhook.AccountReactivated, AccountNumber: "KB-000005"})
		d := b.waitStatus(t, b.deliveries(t, webhook.DeliveryFilter{EventID: ev.ID})[0].ID, webhook.DeliveryFailed)
		if !strings.Contains(d.LastError, "not a public address") {
			t.Errorf("last error = %q", d.LastError)
		}
		if got := b.rc.requests(""); len(got) != 0 {
			t.Fatalf("the private receiver got %d requests", len(got))
		}
	})
}
