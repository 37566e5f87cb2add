package billing

// Unused time. DESIGN.md: "More users, or a dearer plan: effective now; one
// invoice now with a credit line for the unused part of the old price …
// Monthly → annual: effective now; a new annual period starts today; the
// unused monthly part is credited on the first annual invoice."
//
// The unused part is of what was charged for the period, seat by seat — not
// of the subscription's seats × price. A seat whose user was inactive at
// renewal was not charged ("while the user stays inactive the seat is not
// charged at renewal"), and a seat whose inactivity credit already gave
// back the rest of the period has nothing left to give: neither is
// credited again. Every path that credits unused time (a dearer plan, a
// monthly → annual change, a contract's plan change) takes its credit from
// UnusedTime.

// SeatRun is what one line of a period's bills did for some seats at one
// price per period: Seats > 0 charged them (a charge line), Seats < 0 gave
// them back (a credit line for unused time, an inactivity credit), for the
// days of the period from From to its end. Amount is what it charged
// (zero or more) or gave back (zero or less).
type SeatRun struct {
	Seats  int64
	Unit   Money
	From   Date
	Amount Money
}

// SeatRunsOf returns the runs of a period's invoice lines: the lines whose
// service period ends with the period and starts within it. Others — the
// credit a monthly → annual change gave for the monthly period it ended,
// on the annual period's first invoice — are of another period.
func SeatRunsOf(period Period, lines []InvoiceLine) []SeatRun {
	var runs []SeatRun
	for _, l := range lines {
		if l.Period.End != period.End || l.Period.Start.Before(period.Start) {
			continue
		}
		seats := l.Quantity
		if l.Kind == LineCredit {
			seats = -seats
		}
		runs = append(runs, SeatRun{Seats: seats, Unit: l.UnitAmount, From: l.Period.Start, Amount: l.Amount})
	}
	return runs
}

// UnusedTime returns the credit lines for the unused time of period, from
// the day today (counted) to its end, of what runs charged for it, and how
// many seats the runs leave charged on today.
//
// The rule, per price per seat (in the order the prices first appear):
// the seats still charged on today are the seats the runs charged less the
// seats they gave back; their credit is one line rounded once, as every
// line is: round(seats × unit × days left / days in period) — and never
// more than the runs charged at that price less what they gave back, so
// that the rounding of several lines charged on one day cannot credit a
// cent that was not paid. A price whose seats are all given back credits
// nothing.
//
// planName names the lines. It returns an EINVALID error for an invalid
// period, a today outside it, a run that starts after today or outside the
// period, or a currency that is not the runs' one.
func UnusedTime(planName string, period Period, runs []SeatRun, today Date) ([]InvoiceLine, int64, error) {
	if err := period.Validate(); err != nil {
		return nil, 0, err
	}
	if !period.Contains(today) {
		return nil, 0, ReasonErrorf(EINVALID, "period_not_current", "Day %s is outside the period %s.", today, period)
	}
	type price struct {
		unit   Money
		seats  int64
		amount Money
	}
	var prices []*price
	byUnit := map[Money]*price{}
	for _, r := range runs {
		if r.From.After(today) || r.From.Before(period.Start) {
			return nil, 0, ReasonErrorf(EINVALID, "invalid_seat_run", "A run from %s is not of period %s before %s.", r.From, period, today)
		}
		if len(prices) > 0 && r.Unit.Currency != prices[0].unit.Currency || r.Amount.Currency != r.Unit.Currency {
			return nil, 0, ReasonErrorf(EINVALID, "currency_mismatch", "The runs of a period are in one currency.")
		}
		p := byUnit[r.Unit]
		if p == nil {
			p = &price{unit: r.Unit, amount: Zero(r.Unit.Currency)}
			byUnit[r.Unit] = p
			prices = append(prices, p)
		}
		p.seats += r.Seats
		sum, ok := addMoney(p.amount, r.Amount)
		if !ok {
			return nil, 0, amountOverflow()
		}
		p.amount = sum
	}
	var lines []InvoiceLine
	var charged int64
	for _, p := range prices {
		if p.seats <= 0 {
			continue
		}
		charged += p.seats
		line, err := SeatLine(LineCredit, planName, p.unit, p.seats, period, today)
		if err != nil {
			return nil, 0, err
		}
		if paid := max(p.amount.Amount, 0); -line.Amount.Amount > paid {
			line.Amount = NewMoney(-paid, p.unit.Currency)
		}
		if line.Amount.Amount == 0 {
			continue
		}
		lines = append(lines, line)
	}
	return lines, charged, nil
}
