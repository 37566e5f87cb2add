package billing

// Credits. DESIGN.md: "signup credits and inactivity credits (a managed user
// inactive 15 consecutive days earns back the unused days of that seat),
// online accounts only; credits never expire unless stated and are applied to
// invoices before the card is charged."

// ApplyCredit returns how much of a credit balance goes to an invoice of
// amount, and the balance left: the smaller of the two when amount is
// positive, nothing otherwise (an invoice that owes nothing takes no credit).
// It returns an EINVALID error for a negative balance or a currency mismatch.
func ApplyCredit(balance, amount Money) (applied, remaining Money, err error) {
	if err := balance.SameCurrency(amount); err != nil {
		return Money{}, Money{}, err
	}
	if balance.Amount < 0 {
		return Money{}, Money{}, ReasonErrorf(EINVALID, "negative_credit_balance", "A credit balance cannot be negative (%s).", balance)
	}
	applied = Zero(balance.Currency)
	if amount.Amount > 0 {
		applied = balance.Min(amount)
	}
	return applied, balance.Sub(applied), nil
}

// ApplyCredits applies a balance to invoices in order, the oldest first,
// each taking what ApplyCredit gives it from what the ones before left.
// applied[i] is the credit for amounts[i].
func ApplyCredits(balance Money, amounts []Money) (applied []Money, remaining Money, err error) {
	applied = make([]Money, len(amounts))
	remaining = balance
	for i, a := range amounts {
		if applied[i], remaining, err = ApplyCredit(remaining, a); err != nil {
			return nil, Money{}, err
		}
	}
	return applied, remaining, nil
}

// InactivityDays is how many consecutive days without activity earn a seat
// its inactivity credit.
const InactivityDays = 15

// InactivityCreditDay returns the day a managed user last active on
// lastActive reaches InactivityDays consecutive days without activity: the
// days without activity are the ones after lastActive, so it is the 15th of
// them, lastActive + 15. A user never active counts from the day they became
// managed.
func InactivityCreditDay(lastActive Date) Date { return lastActive.AddDays(InactivityDays) }

// InactivityCredit returns the credit a seat earns when its user, last active
// on lastActive, stays without activity through the 15th day after, and that
// day, creditDay. ok is false, with no credit, when creditDay is not a day of
// period: a user who reached 15 days before the period began was not charged
// for it at renewal, and one who reaches them after the period is credited in
// the period that holds that day.
//
// DESIGN.md: "Inactivity credit (online only): when a managed user reaches 15
// consecutive days without activity, the account is credited that seat's
// price for the days left in the period from that day; while the user stays
// inactive the seat is not charged at renewal; when active again the seat is
// charged for the days left, like a new user."
//
// "From that day" counts creditDay itself, as proration counts the day of a
// change: the user was inactive on it too. The credit is a positive amount,
// to add to the account's credit balance: Prorate(unit, 1, days left from
// creditDay, days in period). The user reaches the 15 days only once
// creditDay is over, so the caller grants the credit at the local midnight
// that ends it, creditDay.AddDays(1).Midnight(loc) — on a period's last day,
// the renewal instant, when the credit still belongs to the ending period.
//
// unit is the seat's price for the whole period (the plan's monthly or
// annual price). It returns an EINVALID error for an invalid period or a
// negative price.
func InactivityCredit(unit Money, period Period, lastActive Date) (credit Money, creditDay Date, ok bool, err error) {
	if err := period.Validate(); err != nil {
		return Money{}, Date{}, false, err
	}
	if unit.Amount < 0 {
		return Money{}, Date{}, false, ReasonErrorf(EINVALID, "invalid_price", "A seat price cannot be negative (%s).", unit)
	}
	creditDay = InactivityCreditDay(lastActive)
	if !period.Contains(creditDay) {
		return Zero(unit.Currency), creditDay, false, nil
	}
	credit, err = Prorate(unit, 1, period.DaysLeft(creditDay), period.Days())
	if err != nil {
		return Money{}, Date{}, false, err
	}
	return credit, creditDay, true, nil
}
