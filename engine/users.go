package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// The managed-user roster, with the seat rules. DESIGN: "A managed user takes
// a subscription (a seat); unmanaged users are free." The engine implements
// billing.ManagedUserService, so the API's roster endpoints go through it:
//
//   - Free plan: no seats and nothing billed; the roster may hold any number
//     of users (they are who "all current users" counts when upgrading).
//   - Online paid plan: more managed users than seats buys the added seats
//     now, prorated, on a change invoice, when the preference is
//     auto_increase (the default: "each new managed user is charged for the
//     rest of the period"); otherwise the roster change is refused
//     (seats_exhausted) and nothing is written.
//   - Contract: the peak of the period is tracked for the overage
//     true-up. Above the prepaid subscriptions, auto_increase buys add-on
//     subscriptions (prorated, co-terminous), leave_free (the default) lets
//     the users count toward the overage, refuse refuses.
//   - A user whose seat was settled for inactivity this period and who is
//     active again is "charged for the days left, like a new user".

var _ billing.ManagedUserService = (*Engine)(nil)

// UpsertManagedUser adds one user or updates its email, status and last
// activity, applying the seat rules, in one transaction with one audit
// event.
func (e *Engine) UpsertManagedUser(ctx context.Context, u *billing.ManagedUser) error {
	r := *u
	var joined []string // a new user, for managed_users.limit_reached
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, r.AccountID)
		if err != nil {
			return err
		}
		old, changed, err := tx.UpsertManagedUser(&r)
		if err != nil || !changed {
			return err
		}
		if old == nil {
			joined = []string{r.UserID}
		}
		inv, err := e.afterRosterChange(st, []string{r.UserID})
		if err != nil {
			return err
		}
		if err := e.limitAfterJoin(ctx, st, joined); err != nil {
			return err
		}
		return tx.Audit("managed_user.upsert", "managed_user", r.UserID, st.a.ID, userSnapshot(old, nil), userSnapshot(&r, inv))
	})
	if err != nil {
		e.limitRefused(ctx, r.AccountID, joined, err)
		return err
	}
	*u = r
	e.collectNow(ctx, r.AccountID) // a seat bought for the user is charged at once
	return nil
}

// ReplaceManagedUsers makes the roster exactly users, applying the seat
// rules to the roster that results, in one transaction with one audit event.
func (e *Engine) ReplaceManagedUsers(ctx context.Context, accountID int64, users []billing.ManagedUser) (billing.RosterChange, error) {
	var rc billing.RosterChange
	var joined []string // for managed_users.limit_reached
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		var before int
		rc, before, err = tx.ReplaceManagedUsers(accountID, users)
		if err != nil {
			return err
		}
		if len(rc.Added)+len(rc.Removed)+len(rc.Updated) == 0 {
			return nil
		}
		joined = rc.Added
		inv, err := e.afterRosterChange(st, append(append([]string{}, rc.Added...), rc.Updated...))
		if err != nil {
			return err
		}
		if err := e.limitAfterJoin(ctx, st, joined); err != nil {
			return err
		}
		type counts struct {
			Users   int    `json:"users"`
			Added   int    `json:"added,omitempty"`
			Removed int    `json:"removed,omitempty"`
			Updated int    `json:"updated,omitempty"`
			Invoice string `json:"invoice,omitempty"`
		}
		after := counts{Users: before - len(rc.Removed) + len(rc.Added), Added: len(rc.Added), Removed: len(rc.Removed), Updated: len(rc.Updated)}
		if inv != nil {
			after.Invoice = inv.Number
		}
		return tx.Audit("managed_users.replace", "account", st.a.Number, st.a.ID, counts{Users: before}, after)
	})
	if err != nil {
		e.limitRefused(ctx, accountID, joined, err)
		return billing.RosterChange{}, err
	}
	e.collectNow(ctx, accountID) // seats bought for the users are charged at once
	return rc, nil
}

// RemoveManagedUser takes a user off the roster. Its seat stays paid to the
// period end: fewer seats are for the admin to schedule ("Fewer users …
// scheduled for the period end; no refund").
func (e *Engine) RemoveManagedUser(ctx context.Context, accountID int64, userID string) error {
	return e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		old, err := tx.RemoveManagedUser(accountID, userID)
		if err != nil {
			if billing.ErrorCode(err) == billing.ENOTFOUND {
				return billing.Errorf(billing.ENOTFOUND, "User %s is not a managed user of account %s.", userID, st.a.Number)
			}
			return err
		}
		return tx.Audit("managed_user.remove", "managed_user", userID, st.a.ID, userSnapshot(old, nil), nil)
	})
}

// FindManagedUsers returns a page of the roster.
func (e *Engine) FindManagedUsers(ctx context.Context, filter billing.ManagedUserFilter) ([]*billing.ManagedUser, int, error) {
	return e.db.FindManagedUsers(ctx, filter)
}

type managedUserSnapshot struct {
	UserID       string                    `json:"user_id"`
	Email        string                    `json:"email"`
	Status       billing.ManagedUserStatus `json:"status"`
	LastActiveAt any                       `json:"last_active_at"`
	Invoice      string                    `json:"invoice,omitempty"`
}

func userSnapshot(u *billing.ManagedUser, inv *billing.Invoice) *managedUserSnapshot {
	if u == nil {
		return nil
	}
	s := &managedUserSnapshot{UserID: u.UserID, Email: u.Email, Status: u.Status, LastActiveAt: u.LastActiveAt}
	if inv != nil {
		s.Invoice = inv.Number
	}
	return s
}

// afterRosterChange applies the seat rules to the roster as it now is, in
// the transaction that changed it: it buys the seats the join policy buys
// (and charges users back from inactivity), or refuses. It returns the
// invoice it issued, if any.
func (e *Engine) afterRosterChange(st *state, touched []string) (*billing.Invoice, error) {
	count, err := st.tx.CountManagedUsers(st.a.ID)
	if err != nil {
		return nil, err
	}
	sub := st.sub
	before := *sub
	after := *sub
	var lines []billing.InvoiceLine
	var kind = billing.InvoiceChange

	switch {
	case sub.Contract != nil:
		after.PeakUsers = max(after.PeakUsers, count)
		if count > sub.Seats {
			switch sub.OnJoin {
			case billing.JoinRefuse:
				return nil, seatsExhausted(sub, count)
			case billing.JoinAutoIncrease:
				if sub.Period.Contains(st.today) {
					ch, err := billing.AddContractSeats(*sub, count-sub.Seats, st.today)
					if err != nil {
						return nil, err
					}
					lines = ch.Lines
				}
				// Before the term starts, the first period's invoice bills them.
				after.Seats = count
				after.PeakUsers = max(after.PeakUsers, count)
			}
		}

	case sub.IsPaid():
		if count > sub.Seats {
			if sub.OnJoin != billing.JoinAutoIncrease {
				return nil, seatsExhausted(sub, count)
			}
			if !sub.Period.Contains(st.today) {
				return nil, billing.ReasonErrorf(billing.ESTATE, "period_not_current",
					"Day %s is outside the current period %s; bill the account first.", st.today, sub.Period)
			}
			line, err := billing.SeatLine(billing.LineCharge, sub.Plan.Name, sub.UnitPrice, count-sub.Seats, sub.Period, st.today)
			if err != nil {
				return nil, err
			}
			lines = append(lines, line)
			after.Seats = count
		}
		back, err := e.reactivated(st, touched)
		if err != nil {
			return nil, err
		}
		lines = append(lines, back...)
	}

	if before.Seats == after.Seats && before.PeakUsers == after.PeakUsers && len(lines) == 0 {
		return nil, nil
	}
	if err := st.tx.UpdateSubscription(&after); err != nil {
		return nil, err
	}
	*st.sub = after
	if len(lines) == 0 {
		return nil, nil
	}
	inv, balance, err := draft(st, kind, billing.Period{Start: st.today, End: sub.Period.End}, st.today, lines)
	if err != nil {
		return nil, err
	}
	if err := issue(st, inv, balance); err != nil {
		return nil, err
	}
	return inv, nil
}

func seatsExhausted(sub *billing.Subscription, count int64) error {
	return &billing.Error{Code: billing.ESTATE, Reason: "seats_exhausted",
		Message: "Every subscription is taken (" + plural(sub.Seats, "seat") + " for " + plural(count, "managed user") +
			") and the account's preference is " + string(sub.OnJoin) + "; buy more subscriptions first."}
}

func plural(n int64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + one + "s"
}

// reactivated returns the charge lines of users among touched whose seat was
// settled for inactivity this period and who are active again: DESIGN "when
// active again the seat is charged for the days left, like a new user".
func (e *Engine) reactivated(st *state, touched []string) ([]billing.InvoiceLine, error) {
	if len(touched) == 0 || st.sub.Contract != nil || !st.sub.Period.Contains(st.today) {
		return nil, nil
	}
	want := map[string]bool{}
	for _, id := range touched {
		want[id] = true
	}
	roster, err := st.tx.RosterUsers(st.a.ID)
	if err != nil {
		return nil, err
	}
	var lines []billing.InvoiceLine
	for _, u := range roster {
		if !want[u.UserID] || u.InactivePeriodStart != st.sub.Period.Start || u.ReactivatedPeriodStart == st.sub.Period.Start {
			continue
		}
		if inactiveOn(u, st.loc, st.today) {
			continue
		}
		line, err := billing.SeatLine(billing.LineCharge, st.sub.Plan.Name, st.sub.UnitPrice, 1, st.sub.Period, st.today)
		if err != nil {
			return nil, err
		}
		line.Description += " (" + u.Email + " active again)"
		lines = append(lines, line)
		if err := st.tx.SetUserReactivatedPeriod(st.a.ID, u.UserID, st.sub.Period.Start); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

// lastActiveDay is the local day a managed user was last active: the day it
// became managed when it never was.
func lastActiveDay(u *store.RosterUser, loc *time.Location) billing.Date {
	t := u.ManagedSince
	if u.LastActiveAt != nil {
		t = *u.LastActiveAt
	}
	return billing.DateOf(t, loc)
}

// inactiveOn reports whether the user has reached 15 consecutive days
// without activity by the start of day: its credit day is over.
func inactiveOn(u *store.RosterUser, loc *time.Location, day billing.Date) bool {
	return billing.InactivityCreditDay(lastActiveDay(u, loc)).Before(day)
}
