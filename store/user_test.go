package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func roster(t *testing.T, db *store.DB, accountID int64) map[string]billing.ManagedUser {
	t.Helper()
	users, total, err := db.FindManagedUsers(context.Background(), billing.ManagedUserFilter{AccountID: accountID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(users) {
		t.Fatalf("total %d for %d users", total, len(users))
	}
	m := map[string]billing.ManagedUser{}
	for _, u := range users {
		m[u.UserID] = *u
	}
	return m
}

func TestReplaceManagedUsers_DiffsTheRoster(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		other := newAccount(t, db, "Other", "other.test")
		ctx := as("key:kb_platform")
		seen := t0.In(time.FixedZone("PST", -8*3600)) // a new user's activity is from when it joins

		rc, err := db.ReplaceManagedUsers(ctx, a.ID, []billing.ManagedUser{
			{UserID: "u3", Email: "Carol@Acme.test"},
			{UserID: " u1 ", Email: "alice@acme.test", LastActiveAt: &seen},
			{UserID: "u2", Email: "bob@acme.test", Status: billing.UserSuspended},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := billing.RosterChange{Added: []string{"u1", "u2", "u3"}, Removed: []string{}, Updated: []string{}}
		if !reflect.DeepEqual(rc, want) {
			t.Fatalf("change = %+v, want %+v", rc, want)
		}
		first := stored(clock.Now())
		got := roster(t, db, a.ID)
		wantSeen := stored(seen)
		wantRoster := map[string]billing.ManagedUser{
			"u1": {AccountID: a.ID, UserID: "u1", Email: "alice@acme.test", Status: billing.UserActive, ManagedSince: first, LastActiveAt: &wantSeen},
			"u2": {AccountID: a.ID, UserID: "u2", Email: "bob@acme.test", Status: billing.UserSuspended, ManagedSince: first},
			"u3": {AccountID: a.ID, UserID: "u3", Email: "carol@acme.test", Status: billing.UserActive, ManagedSince: first},
		}
		if !reflect.DeepEqual(got, wantRoster) {
			t.Fatalf("roster\n %+v\nwant\n %+v", got, wantRoster)
		}
		ev := lastEvent(t, db, 3)
		if ev.Action != "managed_users.replace" || ev.Actor != "key:kb_platform" || ev.TargetID != a.Number || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, `{"users":0}`)
		assertJSON(t, "after", ev.After, `{"users":3,"added":3}`)

		// u1 leaves, u2 changes email, u3 stays as it was, u4 and u0 join.
		clock.Advance(48 * time.Hour)
		rc, err = db.ReplaceManagedUsers(ctx, a.ID, []billing.ManagedUser{
			{UserID: "u4", Email: "dan@acme.test"},
			{UserID: "u2", Email: "robert@acme.test", Status: billing.UserSuspended},
			{UserID: "u3", Email: "carol@acme.test"},
			{UserID: "u0", Email: "zed@acme.test"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want = billing.RosterChange{Added: []string{"u0", "u4"}, Removed: []string{"u1"}, Updated: []string{"u2"}}
		if !reflect.DeepEqual(rc, want) {
			t.Fatalf("change = %+v, want %+v", rc, want)
		}
		got = roster(t, db, a.ID)
		second := stored(clock.Now())
		if len(got) != 4 || got["u2"].Email != "robert@acme.test" || got["u2"].ManagedSince != first ||
			got["u3"].ManagedSince != first || got["u4"].ManagedSince != second || got["u0"].ManagedSince != second {
			t.Fatalf("roster = %+v", got)
		}
		ev = lastEvent(t, db, 4)
		assertJSON(t, "before", ev.Before, `{"users":3}`)
		assertJSON(t, "after", ev.After, `{"users":4,"added":2,"removed":1,"updated":1}`)

		// The same roster again changes nothing and writes nothing.
		rc, err = db.ReplaceManagedUsers(ctx, a.ID, []billing.ManagedUser{
			{UserID: "u0", Email: "zed@acme.test"}, {UserID: "u2", Email: "robert@acme.test", Status: billing.UserSuspended},
			{UserID: "u3", Email: "carol@acme.test"}, {UserID: "u4", Email: "dan@acme.test"},
		})
		if err != nil || len(rc.Added)+len(rc.Removed)+len(rc.Updated) != 0 {
			t.Fatalf("no-op replace: %+v, %v", rc, err)
		}
		lastEvent(t, db, 4)

		// Another account's roster is its own; an empty report clears it.
		if len(roster(t, db, other.ID)) != 0 {
			t.Fatal("other account has users")
		}
		rc, err = db.ReplaceManagedUsers(ctx, a.ID, nil)
		if err != nil || len(rc.Removed) != 4 || len(roster(t, db, a.ID)) != 0 {
			t.Fatalf("clear: %+v, %v", rc, err)
		}
	})
}

func TestReplaceManagedUsers_InvalidOrUnknownWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		if _, err := db.ReplaceManagedUsers(as("x"), a.ID, []billing.ManagedUser{{UserID: "u1", Email: "a@acme.test"}}); err != nil {
			t.Fatal(err)
		}
		for name, users := range map[string][]billing.ManagedUser{
			"bad email":  {{UserID: "u2", Email: "nope"}},
			"no user id": {{UserID: " ", Email: "b@acme.test"}},
			"duplicate":  {{UserID: "u2", Email: "b@acme.test"}, {UserID: "u2", Email: "c@acme.test"}},
		} {
			err := assertNothingWritten(t, db, billing.EINVALID, func() error {
				_, err := db.ReplaceManagedUsers(as("x"), a.ID, users)
				return err
			})
			if e := assertCode(t, err, billing.EINVALID); len(e.Fields) == 0 {
				t.Fatalf("%s: no fields in %v", name, err)
			}
		}
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error {
			_, err := db.ReplaceManagedUsers(as("x"), a.ID+10, []billing.ManagedUser{{UserID: "u1", Email: "a@acme.test"}})
			return err
		})
	})
}

func TestUpsertManagedUser_AddsUpdatesAndAudits(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		ctx := as("key:kb_platform")
		u := &billing.ManagedUser{AccountID: a.ID, UserID: "u1", Email: "Alice@acme.test",
			ManagedSince: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)} // the store decides when management began
		if err := db.UpsertManagedUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		since := stored(clock.Now())
		want := billing.ManagedUser{AccountID: a.ID, UserID: "u1", Email: "alice@acme.test", Status: billing.UserActive, ManagedSince: since}
		if !reflect.DeepEqual(*u, want) || !reflect.DeepEqual(roster(t, db, a.ID)["u1"], want) {
			t.Fatalf("upserted %+v, stored %+v, want %+v", *u, roster(t, db, a.ID)["u1"], want)
		}
		ev := lastEvent(t, db, 2)
		if ev.Action != "managed_user.upsert" || ev.TargetType != "managed_user" || ev.TargetID != "u1" || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, "")
		assertJSON(t, "after", ev.After, `{"user_id":"u1","email":"alice@acme.test","status":"active",
			"managed_since":"2025-03-14T03:56:53.589793Z","last_active_at":null}`)

		clock.Advance(time.Hour)
		seen := time.Date(2025, 3, 14, 5, 30, 0, 999999999, time.FixedZone("CET", 3600)) // after it joined, before now
		u2 := &billing.ManagedUser{AccountID: a.ID, UserID: "u1", Email: "alice@acme.test", LastActiveAt: &seen}
		if err := db.UpsertManagedUser(ctx, u2); err != nil {
			t.Fatal(err)
		}
		got := roster(t, db, a.ID)["u1"]
		if got.ManagedSince != since || got.LastActiveAt == nil || *got.LastActiveAt != stored(seen) ||
			u2.ManagedSince != since || *u2.LastActiveAt != stored(seen) {
			t.Fatalf("updated %+v, stored %+v", u2, got)
		}
		ev = lastEvent(t, db, 3)
		assertJSON(t, "after", ev.After, `{"user_id":"u1","email":"alice@acme.test","status":"active",
			"managed_since":"2025-03-14T03:56:53.589793Z","last_active_at":"2025-03-14T04:30:00.999999Z"}`)

		// The same report again writes nothing.
		same := seen
		if err := db.UpsertManagedUser(ctx, &billing.ManagedUser{AccountID: a.ID, UserID: "u1", Email: "alice@acme.test", LastActiveAt: &same}); err != nil {
			t.Fatal(err)
		}
		lastEvent(t, db, 3)

		assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.UpsertManagedUser(ctx, &billing.ManagedUser{AccountID: a.ID, UserID: "u2", Email: "bad"})
		})
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error {
			return db.UpsertManagedUser(ctx, &billing.ManagedUser{AccountID: a.ID + 5, UserID: "u2", Email: "b@acme.test"})
		})
	})
}

func TestRemoveManagedUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		ctx := as("key:kb_platform")
		if err := db.UpsertManagedUser(ctx, &billing.ManagedUser{AccountID: a.ID, UserID: "u1", Email: "a@acme.test"}); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveManagedUser(ctx, a.ID, "u1"); err != nil {
			t.Fatal(err)
		}
		if len(roster(t, db, a.ID)) != 0 {
			t.Fatal("user still on the roster")
		}
		ev := lastEvent(t, db, 3)
		if ev.Action != "managed_user.remove" || ev.TargetID != "u1" || *ev.AccountID != a.ID {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, `{"user_id":"u1","email":"a@acme.test","status":"active",
			"managed_since":"2025-03-14T03:56:53.589793Z","last_active_at":null}`)
		assertJSON(t, "after", ev.After, "")

		assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.RemoveManagedUser(ctx, a.ID, "u1") })
		assertNothingWritten(t, db, billing.ENOTFOUND, func() error { return db.RemoveManagedUser(ctx, a.ID+1, "u1") })
	})
}

func TestFindManagedUsers_PagesByUserID(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		a := newAccount(t, db, "Acme", "acme.test")
		var users []billing.ManagedUser
		for _, id := range []string{"e", "a", "d", "b", "c"} {
			users = append(users, billing.ManagedUser{UserID: id, Email: id + "@acme.test"})
		}
		if _, err := db.ReplaceManagedUsers(as("x"), a.ID, users); err != nil {
			t.Fatal(err)
		}
		page, total, err := db.FindManagedUsers(context.Background(), billing.ManagedUserFilter{AccountID: a.ID, Offset: 1, Limit: 2})
		if err != nil || total != 5 || len(page) != 2 || page[0].UserID != "b" || page[1].UserID != "c" {
			t.Fatalf("page = %+v, total %d, %v", page, total, err)
		}
		page, total, err = db.FindManagedUsers(context.Background(), billing.ManagedUserFilter{AccountID: a.ID + 1})
		if err != nil || total != 0 || page == nil || len(page) != 0 {
			t.Fatalf("other account: %+v, %d, %v", page, total, err)
		}
	})
}
