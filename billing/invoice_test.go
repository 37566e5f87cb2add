package billing_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/kore-billing/korebill/billing"
)

// invLine is a charge (amount ≥ 0) or a credit (amount < 0) of one user.
func invLine(amount int64) billing.InvoiceLine {
	kind := billing.LineCharge
	unit := amount
	if amount < 0 {
		kind, unit = billing.LineCredit, -amount
	}
	return billing.InvoiceLine{Description: "Premium — 1 user", Kind: kind, Quantity: 1, UnitAmount: usd(unit), Amount: usd(amount)}
}

func TestCanTransition(t *testing.T) {
	all := []billing.InvoiceStatus{billing.InvoiceDraft, billing.InvoiceOpen, billing.InvoicePaid, billing.InvoiceVoid, billing.InvoiceUncollectible}
	allowed := map[[2]billing.InvoiceStatus]bool{
		{billing.InvoiceDraft, billing.InvoiceOpen}:         true,
		{billing.InvoiceDraft, billing.InvoiceVoid}:         true,
		{billing.InvoiceOpen, billing.InvoicePaid}:          true,
		{billing.InvoiceOpen, billing.InvoiceVoid}:          true,
		{billing.InvoiceOpen, billing.InvoiceUncollectible}: true,
		{billing.InvoiceUncollectible, billing.InvoicePaid}: true,
	}
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]billing.InvoiceStatus{from, to}]
			if got := billing.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
			err := billing.CheckTransition(from, to)
			if want != (err == nil) || (err != nil && billing.ErrorCode(err) != billing.ESTATE) {
				t.Errorf("CheckTransition(%s, %s) = %v", from, to, err)
			}
		}
	}
	if billing.CanTransition("", billing.InvoiceOpen) || billing.CanTransition(billing.InvoiceDraft, "sent") {
		t.Error("unknown statuses transition")
	}
}

func TestFormatInvoiceNumber(t *testing.T) {
	for _, tt := range []struct {
		year int
		seq  int64
		want string
	}{
		{2026, 42, "INV-2026-000042"},
		{2026, 1, "INV-2026-000001"},
		{2027, 1234567, "INV-2027-1234567"},
	} {
		got := billing.FormatInvoiceNumber(tt.year, tt.seq)
		if got != tt.want || !billing.ValidInvoiceNumber(got) {
			t.Errorf("FormatInvoiceNumber(%d, %d) = %q, want %q", tt.year, tt.seq, got, tt.want)
		}
	}
	for _, bad := range []string{"", "INV-2026-42", "inv-2026-000042", "INV-26-000042", "KB-000042"} {
		if billing.ValidInvoiceNumber(bad) {
			t.Errorf("ValidInvoiceNumber(%q) = true", bad)
		}
	}
}

func TestComputeTotals(t *testing.T) {
	tests := []struct {
		name    string
		lines   []int64
		balance int64
		bp      int
		want    billing.InvoiceTotals
	}{
		{"tax on the subtotal, rounded once", []int64{2935}, 0, 825,
			billing.InvoiceTotals{Subtotal: usd(2935), CreditsApplied: usd(0), Tax: usd(242), Total: usd(3177), AmountDue: usd(3177), CreditBalanceAfter: usd(0)}},
		{"tax after credits", []int64{1000}, 300, 1000,
			billing.InvoiceTotals{Subtotal: usd(1000), CreditsApplied: usd(300), Tax: usd(70), Total: usd(770), AmountDue: usd(770), CreditBalanceAfter: usd(0)}},
		{"credits cover the whole invoice", []int64{1000}, 5000, 1000,
			billing.InvoiceTotals{Subtotal: usd(1000), CreditsApplied: usd(1000), Tax: usd(0), Total: usd(0), AmountDue: usd(0), CreditBalanceAfter: usd(4000)}},
		{"an upgrade: credit line and charge line", []int64{-3333, 6667}, 0, 0,
			billing.InvoiceTotals{Subtotal: usd(3334), CreditsApplied: usd(0), Tax: usd(0), Total: usd(3334), AmountDue: usd(3334), CreditBalanceAfter: usd(0)}},
		{"a net credit goes back to the balance, untaxed", []int64{500, -800}, 100, 825,
			billing.InvoiceTotals{Subtotal: usd(-300), CreditsApplied: usd(0), Tax: usd(0), Total: usd(-300), AmountDue: usd(0), CreditBalanceAfter: usd(400)}},
		{"half a cent of tax rounds up", []int64{50}, 0, 100,
			billing.InvoiceTotals{Subtotal: usd(50), CreditsApplied: usd(0), Tax: usd(1), Total: usd(51), AmountDue: usd(51), CreditBalanceAfter: usd(0)}},
		{"no lines", nil, 700, 825,
			billing.InvoiceTotals{Subtotal: usd(0), CreditsApplied: usd(0), Tax: usd(0), Total: usd(0), AmountDue: usd(0), CreditBalanceAfter: usd(700)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []billing.InvoiceLine
			for _, a := range tt.lines {
				lines = append(lines, invLine(a))
			}
			got, err := billing.ComputeTotals(lines, usd(tt.balance), tt.bp)
			if err != nil || got != tt.want {
				t.Errorf("ComputeTotals = %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestComputeTotals_Rejects(t *testing.T) {
	eur := invLine(100)
	eur.Amount, eur.UnitAmount = billing.NewMoney(100, "EUR"), billing.NewMoney(100, "EUR")
	tests := []struct {
		name    string
		lines   []billing.InvoiceLine
		balance billing.Money
		bp      int
	}{
		{"line in another currency", []billing.InvoiceLine{invLine(100), eur}, usd(0), 0},
		{"negative balance", []billing.InvoiceLine{invLine(100)}, usd(-1), 0},
		{"rate above 100%", []billing.InvoiceLine{invLine(100)}, usd(0), 10001},
		{"negative rate with nothing to tax", nil, usd(0), -1},
		{"no currency", nil, billing.Money{}, 0},
		{"subtotal overflow", []billing.InvoiceLine{invLine(1 << 62), invLine(1 << 62)}, usd(0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := billing.ComputeTotals(tt.lines, tt.balance, tt.bp); billing.ErrorCode(err) != billing.EINVALID {
				t.Errorf("error = %v, want EINVALID", err)
			}
		})
	}
}

func TestInvoice_UpgradeToDearerPlanMidPeriod(t *testing.T) {
	// Five users move from Premium ($10) to Enterprise ($20) on 11 June of
	// the period [1 June, 1 July): 20 of 30 days left.
	june := period("2026-06-01", "2026-07-01")
	credit, err := billing.SeatLine(billing.LineCredit, "Premium", usd(1000), 5, june, day("2026-06-11"))
	if err != nil {
		t.Fatal(err)
	}
	charge, err := billing.SeatLine(billing.LineCharge, "Enterprise", usd(2000), 5, june, day("2026-06-11"))
	if err != nil {
		t.Fatal(err)
	}
	inv := billing.Invoice{
		AccountID: 1, Kind: billing.InvoiceChange, Currency: "USD", TaxRateBP: 825, TaxCountry: "US",
		Period: credit.Period, IssueDate: day("2026-06-11"), Lines: []billing.InvoiceLine{credit, charge},
	}
	if err := inv.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	balance, err := inv.Compute(usd(1000))
	if err != nil {
		t.Fatal(err)
	}
	if credit.Amount != usd(-3333) || credit.Description != "Unused time on Premium — 5 users × 20 of 30 days" ||
		credit.Days != 20 || credit.PeriodDays != 30 || !credit.Proration || credit.Period != period("2026-06-11", "2026-07-01") {
		t.Errorf("credit line = %+v", credit)
	}
	if charge.Amount != usd(6667) || charge.Description != "Enterprise — 5 users × 20 of 30 days" {
		t.Errorf("charge line = %+v", charge)
	}
	// 3334 − 1000 credits = 2334; tax 8.25% = 192.555 → 193.
	if inv.Subtotal != usd(3334) || inv.CreditsApplied != usd(1000) || inv.Tax != usd(193) ||
		inv.Total != usd(2527) || inv.AmountDue != usd(2527) || inv.AmountPaid != usd(0) || balance != usd(0) {
		t.Errorf("totals = %v %v %v %v due %v paid %v; balance %v", inv.Subtotal, inv.CreditsApplied, inv.Tax, inv.Total, inv.AmountDue, inv.AmountPaid, balance)
	}
}

func TestInvoice_FinalizedInvoicesNeverChange(t *testing.T) {
	for _, s := range []billing.InvoiceStatus{billing.InvoiceOpen, billing.InvoicePaid, billing.InvoiceVoid, billing.InvoiceUncollectible} {
		inv := billing.Invoice{Status: s, Currency: "USD", Number: "INV-2026-000001", Lines: []billing.InvoiceLine{invLine(100)}}
		_, err := inv.Compute(usd(0))
		var e *billing.Error
		if !asError(err, &e) || e.Code != billing.ESTATE || e.Reason != "invoice_not_editable" {
			t.Errorf("Compute on a %s invoice = %v, want ESTATE invoice_not_editable", s, err)
		}
		if !inv.Subtotal.IsZero() {
			t.Errorf("a %s invoice changed", s)
		}
	}
}

func TestSeatLine_WholePeriodIsNotProrated(t *testing.T) {
	l, err := billing.SeatLine(billing.LineCharge, "Premium", usd(1000), 3, period("2026-06-01", "2026-07-01"), day("2026-06-01"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Proration || l.Days != 0 || l.PeriodDays != 0 || l.Amount != usd(3000) || l.Description != "Premium — 3 users" ||
		l.Period != period("2026-06-01", "2026-07-01") {
		t.Errorf("line = %+v", l)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestSeatLine_Rejects(t *testing.T) {
	june := period("2026-06-01", "2026-07-01")
	for name, f := range map[string]func() error{
		"day after the period": func() error {
			_, err := billing.SeatLine(billing.LineCharge, "Premium", usd(1000), 1, june, day("2026-07-01"))
			return err
		},
		"bad kind": func() error {
			_, err := billing.SeatLine("refund", "Premium", usd(1000), 1, june, day("2026-06-05"))
			return err
		},
		"negative price": func() error {
			_, err := billing.SeatLine(billing.LineCharge, "Premium", usd(-1000), 1, june, day("2026-06-05"))
			return err
		},
		"negative quantity": func() error {
			_, err := billing.SeatLine(billing.LineCharge, "Premium", usd(1000), -1, june, day("2026-06-05"))
			return err
		},
		"empty period": func() error {
			_, err := billing.SeatLine(billing.LineCharge, "Premium", usd(1000), 1, period("2026-06-01", "2026-06-01"), day("2026-06-01"))
			return err
		},
	} {
		if err := f(); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
}

func TestLineDescriptions_SayUsersAndDays(t *testing.T) {
	for got, want := range map[string]string{
		billing.ChargeLineDescription("Premium", 3, 20, 30):            "Premium — 3 users × 20 of 30 days",
		billing.ChargeLineDescription("Premium", 1, 1, 31):             "Premium — 1 user × 1 of 31 days",
		billing.ChargeLineDescription("Enterprise", 12, 0, 0):          "Enterprise — 12 users",
		billing.ChargeLineDescription("Enterprise", 12, 365, 365):      "Enterprise — 12 users",
		billing.CreditLineDescription("Premium", 7, 13, 31):            "Unused time on Premium — 7 users × 13 of 31 days",
		billing.InactivityCreditDescription("ada@example.com", 11, 30): "Inactivity credit — ada@example.com, 15 days without activity — 1 user × 11 of 30 days",
		billing.OverageLineDescription("Enterprise", 112, 100):         "Enterprise overage — 12 users above 100 prepaid (peak 112)",
	} {
		if got != want {
			t.Errorf("description = %q, want %q", got, want)
		}
	}
}

func TestInvoiceLine_Validate(t *testing.T) {
	tests := map[string]func(*billing.InvoiceLine){
		"no description":            func(l *billing.InvoiceLine) { l.Description = " " },
		"negative charge":           func(l *billing.InvoiceLine) { l.Amount = usd(-1) },
		"positive credit":           func(l *billing.InvoiceLine) { l.Kind, l.Amount = billing.LineCredit, usd(1) },
		"negative unit":             func(l *billing.InvoiceLine) { l.UnitAmount = usd(-1) },
		"currencies differ":         func(l *billing.InvoiceLine) { l.UnitAmount = billing.NewMoney(1000, "EUR") },
		"days not prorated":         func(l *billing.InvoiceLine) { l.Days = 3 },
		"prorated more than period": func(l *billing.InvoiceLine) { l.Proration, l.Days, l.PeriodDays = true, 31, 30 },
		"bad kind":                  func(l *billing.InvoiceLine) { l.Kind = "" },
		"backwards period":          func(l *billing.InvoiceLine) { l.Period = period("2026-07-01", "2026-06-01") },
	}
	for name, edit := range tests {
		l := invLine(1000)
		edit(&l)
		if err := l.Validate(); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: Validate() = %v, want EINVALID", name, err)
		}
	}
}

func TestInvoice_Validate(t *testing.T) {
	valid := func() billing.Invoice {
		due := day("2026-07-01")
		return billing.Invoice{
			AccountID: 1, Kind: billing.InvoiceSubscription, Currency: "USD", IssueDate: day("2026-06-01"), DueDate: &due,
			Period: period("2026-06-01", "2026-07-01"), Lines: []billing.InvoiceLine{invLine(1000)},
			BilledTo: billing.BilledToProfile(validProfile()),
		}
	}
	inv := valid()
	if err := inv.Validate(); err != nil || inv.Status != billing.InvoiceDraft || inv.Total.Currency != "USD" {
		t.Fatalf("Validate = %v, status %q, total %+v", err, inv.Status, inv.Total)
	}
	tests := map[string]func(*billing.Invoice){
		"bad kind":                  func(i *billing.Invoice) { i.Kind = "refund" },
		"bad currency":              func(i *billing.Invoice) { i.Currency = "usd" },
		"open without a number":     func(i *billing.Invoice) { i.Status = billing.InvoiceOpen },
		"bad number":                func(i *billing.Invoice) { i.Number = "INV-1" },
		"due before issue":          func(i *billing.Invoice) { d := day("2026-05-01"); i.DueDate = &d },
		"no issue date":             func(i *billing.Invoice) { i.IssueDate = billing.Date{} },
		"line in another currency":  func(i *billing.Invoice) { i.Lines[0].Amount.Currency, i.Lines[0].UnitAmount.Currency = "EUR", "EUR" },
		"bad line":                  func(i *billing.Invoice) { i.Lines[0].Description = "" },
		"tax rate above 100%":       func(i *billing.Invoice) { i.TaxRateBP = 10001 },
		"credit note corrects none": func(i *billing.Invoice) { i.Kind = billing.InvoiceCreditNote },
		"bad payment type":          func(i *billing.Invoice) { i.PaymentType = "cash" },
	}
	for name, edit := range tests {
		inv := valid()
		edit(&inv)
		if err := inv.Validate(); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: Validate() = %v, want EINVALID", name, err)
		}
	}
	voidDraft := valid()
	voidDraft.Status = billing.InvoiceVoid
	if err := voidDraft.Validate(); err != nil {
		t.Errorf("a voided draft needs no number: %v", err)
	}
}

func TestComputeTotals_Properties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		amounts := rapid.SliceOfN(rapid.Int64Range(-1_000_000, 5_000_000), 0, 8).Draw(t, "lines")
		var lines []billing.InvoiceLine
		sum := int64(0)
		for _, a := range amounts {
			lines = append(lines, invLine(a))
			sum += a
		}
		balance := usd(rapid.Int64Range(0, 10_000_000).Draw(t, "balance"))
		bp := rapid.IntRange(0, 10000).Draw(t, "bp")
		got, err := billing.ComputeTotals(lines, balance, bp)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subtotal.Amount != sum {
			t.Fatalf("subtotal %v, Σ lines %d", got.Subtotal, sum)
		}
		if got.Total.Amount != got.Subtotal.Amount-got.CreditsApplied.Amount+got.Tax.Amount {
			t.Fatalf("total %v ≠ subtotal − credits + tax: %+v", got.Total, got)
		}
		if a := got.CreditsApplied.Amount; a < 0 || a > balance.Amount || a > max(got.Subtotal.Amount, 0) {
			t.Fatalf("credits applied %d with balance %v and subtotal %v", a, balance, got.Subtotal)
		}
		if got.Tax.Amount < 0 {
			t.Fatalf("tax %v", got.Tax)
		}
		if taxable := got.Subtotal.Amount - got.CreditsApplied.Amount; taxable > 0 &&
			got.Tax.Amount != billing.DivRound(taxable*int64(bp), 10000) {
			t.Fatalf("tax %v on %d at %d bp", got.Tax, taxable, bp)
		}
		if got.AmountDue.Amount != max(got.Total.Amount, 0) {
			t.Fatalf("amount due %v, total %v", got.AmountDue, got.Total)
		}
		if got.CreditBalanceAfter.Amount != balance.Amount-got.CreditsApplied.Amount+max(-got.Total.Amount, 0) {
			t.Fatalf("balance after %v from %v: %+v", got.CreditBalanceAfter, balance, got)
		}
		// Nothing is lost: what is owed plus what the balance gained is the
		// subtotal plus tax, less the credits taken.
		if got.AmountDue.Amount-(got.CreditBalanceAfter.Amount-balance.Amount) != got.Subtotal.Amount+got.Tax.Amount {
			t.Fatalf("amounts do not add up: %+v from %v", got, balance)
		}
	})
}
