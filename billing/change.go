package billing

// Changes to a subscription, as pure functions: the state before, the terms
// asked for and the day of the change in, the state after and the invoice
// lines out. The engine stores what they return; previews show it.
//
// DESIGN.md: "More users, or a dearer plan: effective now; one invoice now
// with a credit line for the unused part of the old price and a charge line
// for the rest of the period at the new price. Fewer users, a cheaper plan,
// annual → monthly: scheduled for the period end; no refund. Monthly →
// annual: effective now; a new annual period starts today; the unused
// monthly part is credited on the first annual invoice."
//
// Readings chosen where the rules leave room:
//   - More users on the same plan is one charge line for the added users for
//     the days left ("a $10 seat added with 20 of 30 days left costs $6.67";
//     "7 seats for 13 of 31 days at $10 is $29.35"), not a credit for every
//     old seat and a charge for every new one: the same amount up to a cent
//     of rounding, and the statement says plainly who was added.
//   - A change to another plan credits the old seats at the old price and
//     charges the new seats at the new price for the days left.
//   - A request that mixes directions is split: what the rules make
//     effective now happens now, the rest is scheduled. A dearer plan with
//     fewer users moves to the dearer plan now at the old seat count and
//     drops the seats at the period end (no refund); a cheaper plan with
//     more users buys the added seats now on the current plan and moves to
//     the cheaper plan at the period end.
//   - A new request replaces a scheduled change and lifts a pending
//     cancellation.

// Timing says when a change takes effect.
type Timing string

const (
	EffectiveNow       Timing = "now"
	EffectivePeriodEnd Timing = "period_end"
)

// Change is the outcome of a change: the subscription after it, and the
// invoice it creates now (Lines empty when nothing is billed now).
type Change struct {
	Timing        Timing
	EffectiveDate Date
	After         Subscription
	InvoiceKind   InvoiceKind
	InvoicePeriod Period
	Lines         []InvoiceLine
}

// Usage is what a change needs to know of the account besides its
// subscription, on the day of the change.
type Usage struct {
	// ManagedUsers is the roster's size: seats never go below it.
	ManagedUsers int64
	// InactiveUsers are the managed users who have reached 15 days without
	// activity: a period that starts with the change does not charge their
	// seats, as a renewal does not.
	InactiveUsers int64
	// Charged is what the current period's invoices and inactivity credits
	// charged and gave back, seat by seat (SeatRunsOf): the unused time a
	// change credits is of it (UnusedTime).
	Charged []SeatRun
}

// PlanChange computes an online subscription's change to the terms to on the
// day today.
func PlanChange(cur Subscription, to Terms, today Date, u Usage) (Change, error) {
	if cur.Contract != nil {
		return Change{}, ReasonErrorf(ESTATE, "contract_terms",
			"A contract's plan and price are set by its contract; buy additional subscriptions instead.")
	}
	managedUsers := u.ManagedUsers
	if err := checkTerms(cur, to, managedUsers); err != nil {
		return Change{}, err
	}
	after := cur
	after.Scheduled = nil
	after.CancelAtPeriodEnd = false
	after.Status = SubscriptionActive
	if cur.Status == SubscriptionPastDue {
		after.Status = SubscriptionPastDue // paying the open invoice restores it, not a change
	}

	// From the Free plan: a first period starts today.
	if !cur.IsPaid() {
		after.Terms = to
		after.Anchor = today
		after.Period = FirstPeriod(today, to.Interval)
		line, err := SeatLine(LineCharge, to.Plan.Name, to.UnitPrice, to.Seats, after.Period, today)
		if err != nil {
			return Change{}, err
		}
		return Change{Timing: EffectiveNow, EffectiveDate: today, After: after,
			InvoiceKind: InvoiceSubscription, InvoicePeriod: after.Period, Lines: []InvoiceLine{line}}, nil
	}
	if !cur.Period.Contains(today) {
		return Change{}, ReasonErrorf(ESTATE, "period_not_current",
			"Day %s is outside the current period %s; bill the account first.", today, cur.Period)
	}
	if err := cur.UnitPrice.SameCurrency(to.UnitPrice); err != nil {
		return Change{}, err
	}

	switch {
	case cur.Interval == Month && to.Interval == Year:
		// Monthly → annual: a new annual period starts today; the unused
		// monthly part is credited on the first annual invoice.
		// The annual period is billed as a renewal bills one: inactive
		// users' seats are not charged.
		after.Terms = to
		after.Anchor = today
		after.Period = FirstPeriod(today, Year)
		credits, _, err := UnusedTime(cur.Plan.Name, cur.Period, u.Charged, today)
		if err != nil {
			return Change{}, err
		}
		charge, err := PeriodLines(after, max(to.Seats-u.InactiveUsers, 0))
		if err != nil {
			return Change{}, err
		}
		return Change{Timing: EffectiveNow, EffectiveDate: today, After: after,
			InvoiceKind: InvoiceChange, InvoicePeriod: after.Period, Lines: append(credits, charge...)}, nil

	case cur.Interval == Year && to.Interval == Month:
		return scheduled(after, to), nil

	case to.Plan.Code == cur.Plan.Code:
		return seatChange(after, cur, to.Seats, today)

	case to.UnitPrice.Amount >= cur.UnitPrice.Amount:
		// A dearer plan: now, for the seats there are or more.
		now := to
		if now.Seats < cur.Seats {
			now.Seats = cur.Seats
		}
		after.Terms = now
		if to.Seats < cur.Seats {
			after.Scheduled = &to
		}
		lines, err := dearerPlan(cur, now, today, u)
		if err != nil {
			return Change{}, err
		}
		return Change{Timing: EffectiveNow, EffectiveDate: today, After: after, InvoiceKind: InvoiceChange,
			InvoicePeriod: Period{Start: today, End: cur.Period.End}, Lines: lines}, nil

	default:
		// A cheaper plan: at the period end; added seats, if any, now.
		if to.Seats > cur.Seats {
			ch, err := seatChange(after, cur, to.Seats, today)
			if err != nil {
				return Change{}, err
			}
			ch.After.Scheduled = &to
			return ch, nil
		}
		return scheduled(after, to), nil
	}
}

// dearerPlan is the lines of a move to dearer terms now for the rest of the
// period: a credit for the unused time of what was charged (UnusedTime),
// and a charge at the new price for the seats that are charged — the new
// seats, less the seats of the period that are not charged on today
// (inactive users' seats: they were not charged, nor will they be until
// their users are active again).
func dearerPlan(cur Subscription, now Terms, today Date, u Usage) ([]InvoiceLine, error) {
	credits, charged, err := UnusedTime(cur.Plan.Name, cur.Period, u.Charged, today)
	if err != nil {
		return nil, err
	}
	uncharged := max(cur.Seats-charged, 0)
	charge, err := SeatLine(LineCharge, now.Plan.Name, now.UnitPrice, max(now.Seats-uncharged, 0), cur.Period, today)
	if err != nil {
		return nil, err
	}
	if uncharged > 0 {
		charge.Description += " (" + plural(uncharged, "inactive user", "inactive users") + " not charged)"
	}
	return append(credits, charge), nil
}

// seatChange changes the number of seats on the current plan: more now, for
// the days left; fewer at the period end.
func seatChange(after, cur Subscription, seats int64, today Date) (Change, error) {
	switch {
	case seats > cur.Seats:
		after.Seats = seats
		line, err := SeatLine(LineCharge, cur.Plan.Name, cur.UnitPrice, seats-cur.Seats, cur.Period, today)
		if err != nil {
			return Change{}, err
		}
		return Change{Timing: EffectiveNow, EffectiveDate: today, After: after, InvoiceKind: InvoiceChange,
			InvoicePeriod: Period{Start: today, End: cur.Period.End}, Lines: []InvoiceLine{line}}, nil
	case seats < cur.Seats:
		to := cur.Terms
		to.Seats = seats
		return scheduled(after, to), nil
	}
	// The same terms: nothing to bill; lifting a scheduled change or a
	// pending cancellation is the whole effect.
	return Change{Timing: EffectiveNow, EffectiveDate: today, After: after}, nil
}

func scheduled(after Subscription, to Terms) Change {
	after.Scheduled = &to
	return Change{Timing: EffectivePeriodEnd, EffectiveDate: after.Period.End, After: after}
}

func checkTerms(cur Subscription, to Terms, managedUsers int64) error {
	var v Validation
	if !to.Interval.Valid() {
		v.Add("interval", "Interval must be month or year.")
	}
	if to.Seats < 1 {
		v.Add("seats", "A paid plan needs at least one seat.")
	}
	if to.UnitPrice.Amount <= 0 {
		v.Add("plan", "Plan %s is free; cancel the subscription to return to it.", to.Plan.Name)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if to.Seats < managedUsers {
		return &Error{Code: ESTATE, Reason: "seats_below_users",
			Message: "The account has " + plural(managedUsers, "managed user", "managed users") +
				"; it cannot have fewer seats (" + plural(to.Seats, "seat", "seats") + "). Remove users first.",
			Fields: []FieldError{{Field: "seats", Message: "At least " + plural(managedUsers, "seat", "seats") + "."}}}
	}
	if cur.IsPaid() && to.UnitPrice.Currency != cur.UnitPrice.Currency {
		return ReasonErrorf(EINVALID, "currency_mismatch", "Currency %s does not match the subscription's %s.",
			to.UnitPrice.Currency, cur.UnitPrice.Currency)
	}
	return nil
}

// AddContractSeats buys n additional subscriptions on a contract on the day
// today: "Contract add-on subscriptions: prorated at the contract price to
// the end of the current period" (co-terminous with it).
func AddContractSeats(cur Subscription, n int64, today Date) (Change, error) {
	if cur.Contract == nil {
		return Change{}, ReasonErrorf(ESTATE, "not_a_contract", "Only a contract buys additional subscriptions; change the seats instead.")
	}
	if n < 1 {
		return Change{}, &Error{Code: EINVALID, Message: "Buy at least one additional subscription.",
			Fields: []FieldError{{Field: "count", Message: "At least 1."}}}
	}
	if !cur.Period.Contains(today) {
		return Change{}, ReasonErrorf(ESTATE, "period_not_current",
			"Day %s is outside the contract's current period %s.", today, cur.Period)
	}
	after := cur
	after.Seats += n
	line, err := SeatLine(LineCharge, cur.Plan.Name, cur.UnitPrice, n, cur.Period, today)
	if err != nil {
		return Change{}, err
	}
	line.Description = "Additional subscriptions: " + line.Description
	return Change{Timing: EffectiveNow, EffectiveDate: today, After: after, InvoiceKind: InvoiceChange,
		InvoicePeriod: Period{Start: today, End: cur.Period.End}, Lines: []InvoiceLine{line}}, nil
}

// PeriodLines are the lines of the invoice that bills a period in advance:
// seats × unit price for the whole period. chargedSeats can be fewer than
// the seats: "while the user stays inactive the seat is not charged at
// renewal".
func PeriodLines(s Subscription, chargedSeats int64) ([]InvoiceLine, error) {
	line, err := SeatLine(LineCharge, s.Plan.Name, s.UnitPrice, chargedSeats, s.Period, s.Period.Start)
	if err != nil {
		return nil, err
	}
	if uncharged := s.Seats - chargedSeats; uncharged > 0 {
		line.Description += " (" + plural(uncharged, "inactive user", "inactive users") + " not charged)"
	}
	return []InvoiceLine{line}, nil
}

// OverageLines bills a contract's peak managed users above its prepaid
// subscriptions for the whole period that ended: "(peak managed users during
// the period − prepaid) × overage price, for the whole period, on the
// invoice issued at the period end." None when the peak stayed within.
func OverageLines(s Subscription) ([]InvoiceLine, error) {
	if s.Contract == nil || s.PeakUsers <= s.Seats {
		return nil, nil
	}
	over := s.PeakUsers - s.Seats
	amount, err := Extend(s.Contract.OverageUnitPrice, over)
	if err != nil {
		return nil, err
	}
	return []InvoiceLine{{
		Description: OverageLineDescription(s.Plan.Name, s.PeakUsers, s.Seats),
		Kind:        LineCharge,
		Quantity:    over,
		UnitAmount:  s.Contract.OverageUnitPrice,
		Amount:      amount,
		Period:      s.Period,
	}}, nil
}
