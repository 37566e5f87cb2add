package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
	"github.com/kore-billing/korebill/store"
	"github.com/kore-billing/korebill/store/storetest"
	"github.com/kore-billing/korebill/testclock"
)

// notes keeps every notification the engine sent, whole.
type notes struct {
	mu   sync.Mutex
	list []engine.Notification
}

func (n *notes) config(c *engine.Config) {
	c.Notify = func(_ context.Context, _ *store.Tx, x engine.Notification) error {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.list = append(n.list, x)
		return nil
	}
}

// of returns the notifications of type typ so far.
func (n *notes) of(typ string) []engine.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []engine.Notification
	for _, x := range n.list {
		if x.Type == typ {
			out = append(out, x)
		}
	}
	return out
}

// forEachNotedStore is forEachPayStore with each store's notifications
// kept whole.
func forEachNotedStore(t *testing.T, start string, fn func(t *testing.T, p *payEnv, n *notes)) {
	t.Helper()
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		n := &notes{}
		fn(t, newPayEnv(t, db, start, n.config), n)
	})
}

func (p *payEnv) due(t *testing.T, a *billing.Account) bool {
	t.Helper()
	ids, err := p.eng.DueAccounts(p.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(ids, a.ID)
}

// TestCardExpiry_NoticeOnTheFirstOfTheMonthBeforeOncePerCard: the default
// card expiring at the end of April is noticed on 1 March, local time, once;
// a card added in its own expiry month is noticed at the next run; an
// expired card is not.
func TestCardExpiry_NoticeOnTheFirstOfTheMonthBeforeOncePerCard(t *testing.T) {
	forEachNotedStore(t, "2026-02-10T15:00:00Z", func(t *testing.T, p *payEnv, n *notes) {
		a := p.newAccount(t, "Expiring", func(a *billing.Account) { a.TimeZone = "America/New_York" })
		april, err := p.tryCard(a, "4242 4242 4242 4242", 4, 2026)
		if err != nil {
			t.Fatal(err)
		}
		wantSteps(t, p.billNow(t, a))
		if p.due(t, a) {
			t.Fatal("due on 10 February")
		}

		// 23:00 on 28 February in New York, already 1 March in UTC.
		p.clock.Set(time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC))
		if p.due(t, a) {
			t.Fatal("due before 1 March in the account's zone")
		}
		wantSteps(t, p.billNow(t, a))

		p.clock.Set(time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC)) // local midnight
		if !p.due(t, a) {
			t.Fatal("not due on 1 March")
		}
		wantSteps(t, p.billNow(t, a), "card_expiring 2026-03-01")
		sent := n.of(engine.NotifyCardExpiring)
		if len(sent) != 1 || sent[0].AccountNumber != a.Number || sent[0].Method == nil || sent[0].Method.ID != april.Method.ID ||
			sent[0].Method.Last4 != "4242" || sent[0].Method.ExpMonth != 4 || sent[0].Method.ExpYear != 2026 {
			t.Fatalf("notices = %+v", sent)
		}
		audit, err := p.db.FindAuditEvents(p.ctx, billing.AuditFilter{AccountID: &a.ID, Action: "payment_method.expiry_notice", Limit: 10})
		if err != nil || len(audit) != 1 {
			t.Fatalf("audit = %v, %v", audit, err)
		}

		// Once: a run repeated, the next day, the month after.
		wantSteps(t, p.billNow(t, a))
		for _, at := range []time.Time{time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC), time.Date(2026, 4, 20, 15, 0, 0, 0, time.UTC)} {
			p.clock.Set(at)
			if p.due(t, a) {
				t.Fatalf("due again on %s", at)
			}
			wantSteps(t, p.billNow(t, a))
		}
		if got := len(n.of(engine.NotifyCardExpiring)); got != 1 {
			t.Fatalf("%d notices, want 1", got)
		}

		// A card that expires this month, made the default, is noticed at
		// once (due since 1 March); another card on file is not.
		may, err := p.tryCard(a, "5555 5555 5555 4444", 5, 2026)
		if err != nil {
			t.Fatal(err)
		}
		wantSteps(t, p.billNow(t, a), "card_expiring 2026-04-01")
		if sent := n.of(engine.NotifyCardExpiring); len(sent) != 2 || sent[1].Method.ID != may.Method.ID {
			t.Fatalf("notices = %+v", sent)
		}

		// June: the May card has expired; making April's card the default
		// again sends nothing either.
		p.clock.Set(time.Date(2026, 6, 2, 15, 0, 0, 0, time.UTC))
		wantSteps(t, p.billNow(t, a))
		if _, err := p.eng.SetDefaultMethod(p.ctx, a.ID, april.Method.ID); err != nil {
			t.Fatal(err)
		}
		wantSteps(t, p.billNow(t, a))
		if p.due(t, a) {
			t.Fatal("due with an expired card")
		}
		if got := len(n.of(engine.NotifyCardExpiring)); got != 2 {
			t.Fatalf("%d notices, want 2", got)
		}
	})
}

// TestCardExpiry_OnATestClock: advancing an account's test clock across
// the month before the card's expiry sends the notice once, at local
// midnight of its first day, exactly as the scheduler would.
func TestCardExpiry_OnATestClock(t *testing.T) {
	forEachNotedStore(t, "2026-01-10T12:00:00Z", func(t *testing.T, p *payEnv, n *notes) {
		a := p.newAccount(t, "Tokyo", func(a *billing.Account) { a.TimeZone = "Asia/Tokyo" })
		clock := &billing.TestClock{Name: "expiry", Now: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}
		if err := p.db.CreateTestClock(p.ctx, clock); err != nil {
			t.Fatal(err)
		}
		if err := p.db.AttachTestClock(p.ctx, clock.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := p.tryCard(a, "4242 4242 4242 4242", 3, 2026); err != nil {
			t.Fatal(err)
		}
		p.upgrade(t, a, 2) // billing steps on the way too
		clocks := testclock.New(p.db, p.eng.Jobs())
		if _, err := clocks.Advance(p.ctx, clock.ID, time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		if got := len(n.of(engine.NotifyCardExpiring)); got != 1 {
			t.Fatalf("%d notices, want 1", got)
		}
		audit, err := p.db.FindAuditEvents(p.ctx, billing.AuditFilter{AccountID: &a.ID, Action: "payment_method.expiry_notice", Limit: 10})
		if err != nil || len(audit) != 1 {
			t.Fatalf("audit = %v, %v", audit, err)
		}
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		if at := audit[0].At.In(tokyo); at.Format("2006-01-02 15:04") != "2026-02-01 00:00" {
			t.Fatalf("noticed at %s, want 2026-02-01 00:00 in Tokyo", at)
		}
	})
}
