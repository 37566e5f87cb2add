package store_test

import (
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestIdempotencyKeys_ReserveReplayAndPrune(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("operator")
		k1 := billing.IdempotencyLease{Scope: "scope", Key: "k1", Owner: "first"}
		if _, reserved, err := db.ReserveIdempotencyKey(ctx, k1, "hash", time.Hour, time.Minute); err != nil || !reserved {
			t.Fatalf("first reserve = %v %v", reserved, err)
		}
		rec, reserved, err := db.ReserveIdempotencyKey(ctx, billing.IdempotencyLease{Scope: "scope", Key: "k1", Owner: "second"}, "hash", time.Hour, time.Minute)
		if err != nil || reserved || rec == nil || rec.Done || rec.LeaseExpired || rec.LeaseOwner != "first" {
			t.Fatalf("second reserve = %+v %v %v, want the running first", rec, reserved, err)
		}
		if err := db.CompleteIdempotencyKey(ctx, k1, billing.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"a":1}`)}); err != nil {
			t.Fatal(err)
		}
		rec, err = db.FindIdempotencyKey(ctx, "scope", "k1")
		if err != nil || !rec.Done || rec.Status != 201 || string(rec.Body) != `{"a":1}` || rec.RequestHash != "hash" {
			t.Fatalf("completed = %+v %v", rec, err)
		}
		if _, reserved, _ := db.ReserveIdempotencyKey(ctx, billing.IdempotencyLease{Scope: "scope", Key: "k2", Owner: "x"}, "hash", 2*time.Hour, time.Minute); !reserved {
			t.Fatal("k2 not reserved")
		}
		clock.Advance(90 * time.Minute) // k1 expired, k2 not
		n, err := db.DeleteExpiredIdempotencyKeys(ctx)
		if err != nil || n != 1 {
			t.Fatalf("pruned %d %v, want 1", n, err)
		}
		if _, err := db.FindIdempotencyKey(ctx, "scope", "k1"); billing.ErrorCode(err) != billing.ENOTFOUND {
			t.Errorf("k1 after pruning: %v", err)
		}
		if _, err := db.FindIdempotencyKey(ctx, "scope", "k2"); err != nil {
			t.Errorf("k2 after pruning: %v", err)
		}
	})
}

// A request that died holding a key (its process was killed: it never
// renews its lease) is taken over once the lease has expired, by exactly
// one retry; a live request renewing its lease is not (issue 9, defect 5:
// the key answered 409 idempotency_key_in_progress for 24 hours).
func TestIdempotencyKeys_DeadRequestTakenOverAfterItsLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		ctx := as("operator")
		dead := billing.IdempotencyLease{Scope: "s", Key: "k", Owner: "dead"}
		live := billing.IdempotencyLease{Scope: "s", Key: "live", Owner: "live"}
		for _, l := range []billing.IdempotencyLease{dead, live} {
			if _, ok, err := db.ReserveIdempotencyKey(ctx, l, "hash", 24*time.Hour, 10*time.Second); err != nil || !ok {
				t.Fatalf("reserve %s = %v %v", l.Key, ok, err)
			}
		}
		retry := billing.IdempotencyLease{Scope: "s", Key: "k", Owner: "retry"}
		if rec, ok, err := db.ReserveIdempotencyKey(ctx, retry, "hash", 24*time.Hour, 10*time.Second); err != nil || ok || rec.LeaseExpired {
			t.Fatalf("within the lease = %+v %v %v, want it running", rec, ok, err)
		}
		clock.Advance(6 * time.Second)
		if ok, err := db.RenewIdempotencyLease(ctx, live, 10*time.Second); err != nil || !ok {
			t.Fatalf("renew = %v %v", ok, err)
		}
		clock.Advance(6 * time.Second)
		// Another body under the dead key is still refused, not run.
		if rec, ok, err := db.ReserveIdempotencyKey(ctx, retry, "other", 24*time.Hour, 10*time.Second); err != nil || ok || rec.RequestHash != "hash" {
			t.Fatalf("another body = %+v %v %v", rec, ok, err)
		}
		if rec, ok, err := db.ReserveIdempotencyKey(ctx, billing.IdempotencyLease{Scope: "s", Key: "live", Owner: "r"}, "hash", 24*time.Hour, 10*time.Second); err != nil || ok || rec.LeaseExpired {
			t.Fatalf("a renewed lease was taken over: %+v %v %v", rec, ok, err)
		}
		if _, ok, err := db.ReserveIdempotencyKey(ctx, retry, "hash", 24*time.Hour, 10*time.Second); err != nil || !ok {
			t.Fatalf("the dead request's key was not taken over: %v %v", ok, err)
		}
		if _, ok, _ := db.ReserveIdempotencyKey(ctx, billing.IdempotencyLease{Scope: "s", Key: "k", Owner: "third"}, "hash", 24*time.Hour, 10*time.Second); ok {
			t.Fatal("a second retry took the key over too")
		}
		// The dead owner, were it only paused, can no longer renew, store
		// a response, release the key or commit a change under it.
		if ok, _ := db.RenewIdempotencyLease(ctx, dead, time.Minute); ok {
			t.Fatal("the dead owner renewed")
		}
		if err := db.ReleaseIdempotencyKey(ctx, dead); err != nil {
			t.Fatal(err)
		}
		if err := db.CompleteIdempotencyKey(ctx, dead, billing.IdempotentResponse{Status: 500}); err != nil {
			t.Fatal(err)
		}
		deadCtx := billing.NewContextWithIdempotencyLease(ctx, dead)
		if err := db.CreateAccount(deadCtx, &billing.Account{Name: "Zombie", Domain: "zombie.test", Currency: "USD", TimeZone: "UTC"}); billing.ErrorCode(err) != billing.ECONFLICT {
			t.Fatalf("the dead owner committed a change: %v", err)
		}
		rec, err := db.FindIdempotencyKey(ctx, "s", "k")
		if err != nil || rec.Done || rec.LeaseOwner != "retry" || rec.Changed {
			t.Fatalf("after the dead owner's attempts = %+v %v", rec, err)
		}
		// The new owner's change commits and marks the key changed: were
		// it to die now, its key would not be run a third time.
		if err := db.CreateAccount(billing.NewContextWithIdempotencyLease(ctx, retry), &billing.Account{Name: "Acme", Domain: "acme.test", Currency: "USD", TimeZone: "UTC"}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(11 * time.Second)
		rec, ok, err := db.ReserveIdempotencyKey(ctx, billing.IdempotencyLease{Scope: "s", Key: "k", Owner: "fourth"}, "hash", 24*time.Hour, 10*time.Second)
		if err != nil || ok || !rec.Changed || !rec.LeaseExpired || rec.LeaseOwner != "retry" {
			t.Fatalf("a changed key after its owner died = %+v %v %v, want not taken over", rec, ok, err)
		}
	})
}
