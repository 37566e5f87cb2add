package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func TestSessionStore_CommitFindReplaceDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		now := t0
		s := db.Sessions()
		s.Now = func() time.Time { return now }

		if _, found, err := s.FindCtx(ctx, "nope"); found || err != nil {
			t.Fatalf("unknown token: found=%v err=%v", found, err)
		}
		data := []byte{0, 1, 2, 0xff, 'g', 'o', 'b'}
		if err := s.CommitCtx(ctx, "tok1", data, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.FindCtx(ctx, "tok1")
		if err != nil || !found || !bytes.Equal(got, data) {
			t.Fatalf("find = %v %v %v", got, found, err)
		}
		// Commit again replaces the data and the expiry.
		if err := s.CommitCtx(ctx, "tok1", []byte("v2"), now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(90 * time.Minute)
		if got, found, _ := s.Find("tok1"); !found || string(got) != "v2" {
			t.Fatalf("after replace: %q %v", got, found)
		}
		if err := s.Commit("tok2", []byte("other"), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		all, err := s.All()
		if err != nil || len(all) != 2 || string(all["tok2"]) != "other" {
			t.Fatalf("all = %v %v", all, err)
		}
		if err := s.Delete("tok2"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCtx(ctx, "tok2"); err != nil {
			t.Fatalf("deleting a missing token: %v", err)
		}
		if _, found, _ := s.Find("tok2"); found {
			t.Fatal("a deleted session was found")
		}
	})
}

func TestSessionStore_ExpiredIsNotFoundAndIsCleanedUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		now := t0
		s := db.Sessions()
		s.Now = func() time.Time { return now }
		for tok, ttl := range map[string]time.Duration{"short": time.Minute, "long": time.Hour, "edge": 10 * time.Minute} {
			if err := s.CommitCtx(ctx, tok, []byte(tok), now.Add(ttl)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(10 * time.Minute) // "edge" expires exactly now
		for tok, want := range map[string]bool{"short": false, "edge": false, "long": true} {
			if _, found, err := s.FindCtx(ctx, tok); found != want || err != nil {
				t.Errorf("%s: found = %v (%v), want %v", tok, found, err, want)
			}
		}
		if all, _ := s.AllCtx(ctx); len(all) != 1 {
			t.Errorf("all = %v", all)
		}
		n, err := s.DeleteExpired(ctx)
		if err != nil || n != 2 {
			t.Fatalf("deleted %d, %v; want 2", n, err)
		}
		if c := count(t, db, "console_sessions"); c != 1 {
			t.Fatalf("%d sessions left, want 1", c)
		}
	})
}
