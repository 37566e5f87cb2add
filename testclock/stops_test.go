package testclock

import (
	"testing"
	"time"
)

func TestStops_EveryLocalMidnightInEachZoneThenTheTarget(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	akl, _ := time.LoadLocation("Pacific/Auckland")
	from := time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 5, 6, 0, 0, 0, time.UTC)
	got := stops(from, to, map[string]*time.Location{"America/New_York": ny, "Pacific/Auckland": akl})
	want := []time.Time{
		time.Date(2026, 4, 4, 4, 0, 0, 0, time.UTC),  // 4 Apr 00:00 New York (EDT, −4)
		time.Date(2026, 4, 4, 11, 0, 0, 0, time.UTC), // 5 Apr 00:00 Auckland (NZDT, +13; DST ends at 03:00 that day)
		time.Date(2026, 4, 5, 4, 0, 0, 0, time.UTC),  // 5 Apr 00:00 New York
		to,
	}
	if len(got) != len(want) {
		t.Fatalf("stops = %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("stop %d = %s, want %s", i, got[i], want[i])
		}
	}
	if s := stops(to, to, nil); len(s) != 0 {
		t.Errorf("no move, stops = %v", s)
	}
}
