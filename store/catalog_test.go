package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

func usd(amount int64) billing.Money { return billing.NewMoney(amount, "USD") }

func premiumV1() *billing.PlanVersion {
	return &billing.PlanVersion{
		Prices: []billing.Price{
			{Interval: billing.Year, UnitPrice: usd(10000)},
			{Interval: billing.Month, UnitPrice: billing.NewMoney(900, "EUR")},
			{Interval: billing.Month, UnitPrice: usd(1000)},
		},
		Features: []string{" SSO ", "Audit log", "Ünïcode “quotes”"},
	}
}

func createPremium(t *testing.T, db *store.DB) (*billing.Plan, *billing.PlanVersion) {
	t.Helper()
	p := &billing.Plan{Code: "premium", Name: "Premium", Description: "For growing teams."}
	v := premiumV1()
	if err := db.CreatePlan(as("user:ops@kore.test"), p, v); err != nil {
		t.Fatal(err)
	}
	return p, v
}

func TestCreatePlan_FirstVersionRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		p, v := createPremium(t, db)
		now := stored(clock.Now())
		wantV := billing.PlanVersion{
			ID: v.ID, PlanID: p.ID, PlanCode: "premium", Version: 1,
			Prices: []billing.Price{ // interval, then currency
				{Interval: billing.Month, UnitPrice: billing.NewMoney(900, "EUR")},
				{Interval: billing.Month, UnitPrice: usd(1000)},
				{Interval: billing.Year, UnitPrice: usd(10000)},
			},
			Features:  []string{"SSO", "Audit log", "Ünïcode “quotes”"},
			CreatedAt: now,
		}
		if p.ID == 0 || v.ID == 0 || !reflect.DeepEqual(*v, wantV) || p.Current != v || p.CreatedAt != now {
			t.Fatalf("created %+v with %+v\nwant version %+v", p, v, wantV)
		}
		wantP := billing.Plan{ID: p.ID, Code: "premium", Name: "Premium", Description: "For growing teams.",
			Current: &wantV, CreatedAt: now}
		got, err := db.FindPlanByCode(context.Background(), "premium")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, wantP) {
			t.Fatalf("read back\n %+v %+v\nwant\n %+v %+v", *got, got.Current, wantP, wantV)
		}
		byID, err := db.FindPlanVersionByID(context.Background(), v.ID)
		if err != nil || !reflect.DeepEqual(*byID, wantV) {
			t.Fatalf("version by id = %+v, %v", byID, err)
		}
		ev := lastEvent(t, db, 1)
		if ev.Action != "plan.create" || ev.TargetType != "plan" || ev.TargetID != "premium" || ev.AccountID != nil ||
			ev.Actor != "user:ops@kore.test" {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "before", ev.Before, "")
		assertJSON(t, "after", ev.After, `{"code":"premium","name":"Premium","description":"For growing teams.",
			"version":{"plan_code":"premium","version":1,"prices":[
				{"interval":"month","unit_price":{"amount":900,"currency":"EUR"}},
				{"interval":"month","unit_price":{"amount":1000,"currency":"USD"}},
				{"interval":"year","unit_price":{"amount":10000,"currency":"USD"}}],
			"features":["SSO","Audit log","Ünïcode “quotes”"]}}`)
	})
}

func TestCreatePlan_DuplicateCodeConflicts(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		createPremium(t, db)
		dup := &billing.Plan{Code: "premium", Name: "Premium again"}
		dupV := premiumV1()
		err := assertNothingWritten(t, db, billing.ECONFLICT, func() error { return db.CreatePlan(as("x"), dup, dupV) })
		if e := assertCode(t, err, billing.ECONFLICT); e.Message != "A plan with this code already exists." {
			t.Fatalf("message = %q", e.Message)
		}
		if dup.ID != 0 || dup.Current != nil || dupV.ID != 0 {
			t.Fatalf("a refused plan was given ids: %+v %+v", dup, dupV)
		}
	})
}

func TestCreatePlan_InvalidWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.CreatePlan(as("x"), &billing.Plan{Code: "Bad Code", Name: "X"}, premiumV1())
		})
		err := assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.CreatePlan(as("x"), &billing.Plan{Code: "ok", Name: "X"}, &billing.PlanVersion{
				Prices: []billing.Price{{Interval: "week", UnitPrice: usd(-1)}}})
		})
		if e := assertCode(t, err, billing.EINVALID); len(e.Fields) != 2 {
			t.Fatalf("fields = %+v", e.Fields)
		}
	})
}

func TestCreatePlan_WithoutVersion(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		p := &billing.Plan{Code: "draft", Name: "Draft"}
		if err := db.CreatePlan(as("x"), p, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.FindPlanByCode(context.Background(), "draft")
		if err != nil || got.Current != nil || got.ID != p.ID {
			t.Fatalf("got %+v, %v", got, err)
		}
		versions, err := db.FindPlanVersions(context.Background(), "draft")
		if err != nil || versions == nil || len(versions) != 0 {
			t.Fatalf("versions = %v, %v", versions, err)
		}
		assertJSON(t, "after", lastEvent(t, db, 1).After, `{"code":"draft","name":"Draft"}`)
	})
}

func TestCreatePlanVersion_NextVersionBecomesCurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, clock *billing.FixedClock) {
		p, v1 := createPremium(t, db)
		clock.Advance(24 * time.Hour)
		v2 := &billing.PlanVersion{Prices: []billing.Price{{Interval: billing.Month, UnitPrice: usd(1200)}}}
		if err := db.CreatePlanVersion(as("user:ops@kore.test"), "premium", v2); err != nil {
			t.Fatal(err)
		}
		if v2.Version != 2 || v2.PlanID != p.ID || v2.PlanCode != "premium" || v2.CreatedAt != stored(clock.Now()) ||
			v2.Features == nil {
			t.Fatalf("created %+v", v2)
		}
		got, err := db.FindPlanByCode(context.Background(), "premium")
		if err != nil || !reflect.DeepEqual(got.Current, v2) {
			t.Fatalf("current = %+v, %v; want %+v", got.Current, err, v2)
		}
		versions, err := db.FindPlanVersions(context.Background(), "premium")
		if err != nil || len(versions) != 2 || !reflect.DeepEqual(versions[0], v1) || !reflect.DeepEqual(versions[1], v2) {
			t.Fatalf("versions = %+v, %v", versions, err)
		}
		plans, err := db.FindPlans(context.Background())
		if err != nil || len(plans) != 1 || !reflect.DeepEqual(plans[0].Current, v2) {
			t.Fatalf("plans = %+v, %v", plans, err)
		}
		ev := lastEvent(t, db, 2)
		if ev.Action != "plan_version.create" || ev.TargetType != "plan_version" || ev.TargetID != fmt.Sprint(v2.ID) {
			t.Fatalf("event = %+v", ev)
		}
		assertJSON(t, "after", ev.After, `{"plan_code":"premium","version":2,"prices":[
			{"interval":"month","unit_price":{"amount":1200,"currency":"USD"}}],"features":[]}`)
	})
}

func TestCreatePlanVersion_UnknownPlanOrInvalidWritesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		createPremium(t, db)
		err := assertNothingWritten(t, db, billing.ENOTFOUND, func() error {
			return db.CreatePlanVersion(as("x"), "gold", premiumV1())
		})
		if e := assertCode(t, err, billing.ENOTFOUND); e.Message != `Plan "gold" not found.` {
			t.Fatalf("message = %q", e.Message)
		}
		assertNothingWritten(t, db, billing.EINVALID, func() error {
			return db.CreatePlanVersion(as("x"), "premium", &billing.PlanVersion{})
		})
	})
}

func TestCreatePlanVersion_ConcurrentCallsGetDistinctVersions(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		createPremium(t, db)
		const n = 6
		versions := make([]int, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				v := &billing.PlanVersion{Prices: []billing.Price{{Interval: billing.Month, UnitPrice: usd(int64(i))}}}
				errs[i] = db.CreatePlanVersion(as("x"), "premium", v)
				versions[i] = v.Version
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		slices.Sort(versions)
		if !slices.Equal(versions, []int{2, 3, 4, 5, 6, 7}) {
			t.Fatalf("versions = %v", versions)
		}
	})
}

func TestFindPlans_OldestFirstEachWithCurrent(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := as("x")
		for _, code := range []string{"free", "premium", "enterprise"} {
			if err := db.CreatePlan(ctx, &billing.Plan{Code: code, Name: code}, &billing.PlanVersion{
				Prices: []billing.Price{{Interval: billing.Month, UnitPrice: usd(0)}}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreatePlanVersion(ctx, "enterprise", &billing.PlanVersion{
			Prices: []billing.Price{{Interval: billing.Month, UnitPrice: usd(2000)}}}); err != nil {
			t.Fatal(err)
		}
		plans, err := db.FindPlans(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range plans {
			got = append(got, fmt.Sprintf("%s@%d", p.Code, p.Current.Version))
		}
		if !slices.Equal(got, []string{"free@1", "premium@1", "enterprise@2"}) {
			t.Fatalf("plans = %v", got)
		}
	})
}

func TestFindPlan_NotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *store.DB, _ *billing.FixedClock) {
		ctx := context.Background()
		_, err := db.FindPlanByCode(ctx, "nope")
		assertCode(t, err, billing.ENOTFOUND)
		_, err = db.FindPlanVersions(ctx, "nope")
		assertCode(t, err, billing.ENOTFOUND)
		_, err = db.FindPlanVersionByID(ctx, 12345)
		assertCode(t, err, billing.ENOTFOUND)
		plans, err := db.FindPlans(ctx)
		if err != nil || plans == nil || len(plans) != 0 {
			t.Fatalf("plans = %v, %v", plans, err)
		}
	})
}
