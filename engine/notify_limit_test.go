package engine_test

import (
	"fmt"
	"testing"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/engine"
)

func (p *payEnv) roster(t *testing.T, a *billing.Account, n int) error {
	t.Helper()
	var list []billing.ManagedUser
	for i := 1; i <= n; i++ {
		list = append(list, billing.ManagedUser{UserID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	_, err := p.eng.ReplaceManagedUsers(p.ctx, a.ID, list)
	return err
}

func (p *payEnv) join(a *billing.Account, id string) error {
	return p.eng.UpsertManagedUser(p.ctx, &billing.ManagedUser{AccountID: a.ID, UserID: id, Email: id + "@example.com"})
}

func (p *payEnv) managed(t *testing.T, a *billing.Account) int {
	t.Helper()
	_, n, err := p.eng.FindManagedUsers(p.ctx, billing.ManagedUserFilter{AccountID: a.ID, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (p *payEnv) contract(t *testing.T, name string, join billing.JoinPolicy) *billing.Account {
	t.Helper()
	a := p.newAccount(t, name, func(a *billing.Account) { a.BillingType = billing.BillingSubscription })
	_, err := p.eng.CreateContract(p.ctx, a.ID, engine.ContractRequest{Number: "C-" + name, PlanCode: engine.PlanEnterprise,
		TermStart: payDate("2026-03-01"), TermEnd: payDate("2027-03-01"), Prepaid: 3, UnitPrice: billing.NewMoney(1500, "USD"),
		Interval: billing.Month, PayByInvoice: true, NetDays: 30, OnJoin: join})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantLimit(t *testing.T, got []engine.Notification, want ...engine.LimitReached) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d limit_reached notifications %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Limit == nil || *got[i].Limit != w {
			t.Errorf("notification %d = %+v, want %+v", i+1, got[i].Limit, w)
		}
	}
}

// TestLimitReached_ContractRefusesOrLeavesFree: a user who finds every
// subscription taken is refused (the roster does not change, the platform
// is told all the same) or, with leave_free, joins and counts toward the
// overage (told with the change); an update of a user already managed, and
// a join that buys its seat, reach no limit.
func TestLimitReached_ContractRefusesOrLeavesFree(t *testing.T) {
	forEachNotedStore(t, "2026-03-05T15:00:00Z", func(t *testing.T, p *payEnv, n *notes) {
		refuse := p.contract(t, "Refuse", billing.JoinRefuse)
		if err := p.roster(t, refuse, 3); err != nil {
			t.Fatal(err)
		}
		wantLimit(t, n.of(engine.NotifyLimitReached))

		wantErrCode(t, p.join(refuse, "u4"), "seats_exhausted")
		if got := p.managed(t, refuse); got != 3 {
			t.Fatalf("a refused join left %d managed users", got)
		}
		wantLimit(t, n.of(engine.NotifyLimitReached),
			engine.LimitReached{Seats: 3, ManagedUsers: 3, UserID: "u4", OnJoin: billing.JoinRefuse, Refused: true})
		audit, err := p.db.FindAuditEvents(p.ctx, billing.AuditFilter{AccountID: &refuse.ID, Action: "managed_users.join_refused", Limit: 10})
		if err != nil || len(audit) != 1 {
			t.Fatalf("join_refused audit = %v, %v", audit, err)
		}
		// Two at once through the roster: one event, naming no one user.
		wantErrCode(t, p.roster(t, refuse, 5), "seats_exhausted")
		wantLimit(t, n.of(engine.NotifyLimitReached)[1:],
			engine.LimitReached{Seats: 3, ManagedUsers: 3, OnJoin: billing.JoinRefuse, Refused: true})

		free := p.contract(t, "Leave", billing.JoinLeaveFree)
		if err := p.roster(t, free, 3); err != nil {
			t.Fatal(err)
		}
		before := len(n.of(engine.NotifyLimitReached))
		if err := p.join(free, "u4"); err != nil {
			t.Fatal(err)
		}
		if got := p.managed(t, free); got != 4 {
			t.Fatalf("%d managed users after a leave_free join", got)
		}
		// The same user again, active: not a join.
		if err := p.eng.UpsertManagedUser(p.ctx, &billing.ManagedUser{AccountID: free.ID, UserID: "u4", Email: "u4@new.example.com"}); err != nil {
			t.Fatal(err)
		}
		wantLimit(t, n.of(engine.NotifyLimitReached)[before:],
			engine.LimitReached{Seats: 3, ManagedUsers: 4, UserID: "u4", OnJoin: billing.JoinLeaveFree})

		auto := p.contract(t, "Auto", billing.JoinAutoIncrease)
		if err := p.roster(t, auto, 4); err != nil {
			t.Fatal(err)
		}
		if got := len(n.of(engine.NotifyLimitReached)); got != before+1 {
			t.Fatalf("auto_increase reached a limit: %d notifications", got-before-1)
		}
	})
}

// TestLimitReached_OnlinePlans: an online paid plan that buys seats
// (auto_increase, the default) reaches no limit; refuse does; Free has no
// seats to run out of.
func TestLimitReached_OnlinePlans(t *testing.T) {
	forEachNotedStore(t, "2026-03-05T15:00:00Z", func(t *testing.T, p *payEnv, n *notes) {
		onFree := p.newAccount(t, "Gratis")
		if err := p.roster(t, onFree, 5); err != nil {
			t.Fatal(err)
		}
		a := p.newAccount(t, "Paid")
		p.addCard(t, a, "4242 4242 4242 4242")
		p.upgrade(t, a, 2)
		if err := p.roster(t, a, 2); err != nil {
			t.Fatal(err)
		}
		if err := p.join(a, "u3"); err != nil { // buys the seat
			t.Fatal(err)
		}
		wantLimit(t, n.of(engine.NotifyLimitReached))

		refuse := billing.JoinRefuse
		if _, err := p.eng.SetPreferences(p.ctx, a.ID, engine.Preferences{OnJoin: &refuse}); err != nil {
			t.Fatal(err)
		}
		wantErrCode(t, p.join(a, "u4"), "seats_exhausted")
		wantLimit(t, n.of(engine.NotifyLimitReached),
			engine.LimitReached{Seats: 3, ManagedUsers: 3, UserID: "u4", OnJoin: billing.JoinRefuse, Refused: true})
	})
}

// TestLimitReached_NoNotifyWritesNothing: without Notify (webhooks off) a
// refused join writes nothing at all, as every refused change.
func TestLimitReached_NoNotifyWritesNothing(t *testing.T) {
	forEachPayStore(t, "2026-03-05T15:00:00Z", func(t *testing.T, p *payEnv) {
		a := p.contract(t, "Quiet", billing.JoinRefuse)
		if err := p.roster(t, a, 3); err != nil {
			t.Fatal(err)
		}
		before := p.counts(t)
		wantErrCode(t, p.join(a, "u4"), "seats_exhausted")
		if after := p.counts(t); after != before {
			t.Fatalf("a refused join wrote:\n%s\n%s", before, after)
		}
	}, func(c *engine.Config) { c.Notify = nil })
}
