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
		if _, reserved, err := db.ReserveIdempotencyKey(ctx, "scope", "k1", "hash", time.Hour); err != nil || !reserved {
			t.Fatalf("first reserve = %v %v", reserved, err)
		}
		rec, reserved, err := db.ReserveIdempotencyKey(ctx, "scope", "k1", "hash", time.Hour)
		if err != nil || reserved || rec == nil || rec.Done {
			t.Fatalf("second reserve = %+v %v %v, want the running first", rec, reserved, err)
		}
		if err := db.CompleteIdempotencyKey(ctx, "scope", "k1", billing.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"a":1}`)}); err != nil {
			t.Fatal(err)
		}
		rec, err = db.FindIdempotencyKey(ctx, "scope", "k1")
		if err != nil || !rec.Done || rec.Status != 201 || string(rec.Body) != `{"a":1}` || rec.RequestHash != "hash" {
			t.Fatalf("completed = %+v %v", rec, err)
		}
		if _, reserved, _ := db.ReserveIdempotencyKey(ctx, "scope", "k2", "hash", 2*time.Hour); !reserved {
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
