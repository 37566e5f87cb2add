package billing_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

func TestApplyCredits_OldestInvoiceFirst(t *testing.T) {
	applied, remaining, err := billing.ApplyCredits(usd(1500), []billing.Money{usd(1000), usd(1000), usd(-200), usd(300)})
	if err != nil {
		t.Fatal(err)
	}
	want := []billing.Money{usd(1000), usd(500), usd(0), usd(0)}
	for i := range want {
		if applied[i] != want[i] {
			t.Errorf("applied[%d] = %v, want %v", i, applied[i], want[i])
		}
	}
	if remaining != usd(0) {
		t.Errorf("remaining = %v", remaining)
	}
}

func TestApplyCredit_NothingToAnInvoiceThatOwesNothing(t *testing.T) {
	for _, amount := range []billing.Money{usd(0), usd(-500)} {
		applied, remaining, err := billing.ApplyCredit(usd(700), amount)
		if err != nil || applied != usd(0) || remaining != usd(700) {
			t.Errorf("ApplyCredit(700, %v) = %v, %v, %v", amount, applied, remaining, err)
		}
	}
}

func TestApplyCredit_Rejects(t *testing.T) {
	if _, _, err := billing.ApplyCredit(usd(-1), usd(100)); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("negative balance: %v", err)
	}
	if _, _, err := billing.ApplyCredit(usd(100), billing.NewMoney(100, "EUR")); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("currency mismatch: %v", err)
	}
	if _, _, err := billing.ApplyCredits(usd(100), []billing.Money{usd(1), billing.NewMoney(1, "EUR")}); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("currency mismatch in a sequence: %v", err)
	}
}

func TestInactivityCredit_CreditedFromThe15thDayWithoutActivity(t *testing.T) {
	june := period("2026-06-01", "2026-07-01") // 30 days
	tests := []struct {
		name       string
		lastActive string
		creditDay  string
		ok         bool
		credit     billing.Money
	}{
		// Last active 5 June: 6–20 June are the 15 days without activity;
		// 20 June to 30 June, 11 days, are credited.
		{"mid-period", "2026-06-05", "2026-06-20", true, usd(367)},                  // 1000 × 11/30 = 366.67
		{"reached early in the period", "2026-05-20", "2026-06-04", true, usd(900)}, // 27 days
		{"15th day is the first day", "2026-05-17", "2026-06-01", true, usd(1000)},
		{"15th day is the last day", "2026-06-15", "2026-06-30", true, usd(33)}, // 1 day
		{"15th day is the next period's", "2026-06-16", "2026-07-01", false, usd(0)},
		{"reached before the period: not charged at renewal", "2026-05-10", "2026-05-25", false, usd(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			credit, creditDay, ok, err := billing.InactivityCredit(usd(1000), june, day(tt.lastActive))
			if err != nil {
				t.Fatal(err)
			}
			if creditDay != day(tt.creditDay) || ok != tt.ok || credit != tt.credit {
				t.Errorf("InactivityCredit = %v, %s, %v; want %v, %s, %v", credit, creditDay, ok, tt.credit, tt.creditDay, tt.ok)
			}
		})
	}
}

func TestInactivityCredit_Rejects(t *testing.T) {
	if _, _, _, err := billing.InactivityCredit(usd(1000), period("2026-06-01", "2026-06-01"), day("2026-06-01")); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("empty period: %v", err)
	}
	if _, _, _, err := billing.InactivityCredit(usd(-1000), period("2026-06-01", "2026-07-01"), day("2026-06-01")); billing.ErrorCode(err) != billing.EINVALID {
		t.Errorf("negative price: %v", err)
	}
}

func TestInactivityCredit_Properties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		anchor := drawDate(t, "anchor")
		interval := drawInterval(t)
		p := billing.PeriodContaining(anchor, interval, drawDate(t, "in"))
		unit := usd(rapid.Int64Range(0, 1_000_000).Draw(t, "unit"))
		lastActive := p.Start.AddDays(rapid.IntRange(-40, p.Days()+5).Draw(t, "offset"))
		credit, creditDay, ok, err := billing.InactivityCredit(unit, p, lastActive)
		if err != nil {
			t.Fatal(err)
		}
		if lastActive.DaysUntil(creditDay) != billing.InactivityDays {
			t.Fatalf("credit day %s is not 15 days after %s", creditDay, lastActive)
		}
		if ok != p.Contains(creditDay) {
			t.Fatalf("ok = %v for credit day %s in %s", ok, creditDay, p)
		}
		if !ok && !credit.IsZero() || credit.Amount < 0 || credit.Amount > unit.Amount {
			t.Fatalf("credit %v of a %v seat (ok %v)", credit, unit, ok)
		}
		if ok {
			want, _ := billing.Prorate(unit, 1, p.DaysLeft(creditDay), p.Days())
			if credit != want {
				t.Fatalf("credit %v, want the days left from %s: %v", credit, creditDay, want)
			}
		}
	})
}
