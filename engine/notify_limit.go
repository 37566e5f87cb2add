package engine

import (
	"context"
	"log/slog"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/store"
)

// NotifyLimitReached tells the platform that a managed user joined, or was
// refused, when no subscription was free: DESIGN "when a user joins and no
// subscription is free — assign one automatically by buying more
// (auto-increase), or leave the user free / refuse the join (manual)". A
// join that buys its seat (auto_increase) reaches no limit.
const NotifyLimitReached = "managed_users.limit_reached"

// LimitReached is what managed_users.limit_reached says.
type LimitReached struct {
	Seats        int64 // the subscriptions (prepaid, on a contract)
	ManagedUsers int64 // managed users after the join; a refused join is not counted
	// UserID is the user who got no seat; "" when several joined at once.
	UserID string
	// OnJoin is the account's preference, which decided what happened to
	// the user: refuse (refused; the roster did not change) or leave_free
	// (on a contract: the user counts toward the overage).
	OnJoin  billing.JoinPolicy
	Refused bool
}

func onlyUser(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// limitAfterJoin is called in the transaction of a roster change that
// added the users joined, after the seat rules ran: when more users are
// managed than there are subscriptions (leave_free on a contract: the
// overage), the platform is told, with the change.
func (e *Engine) limitAfterJoin(ctx context.Context, st *state, joined []string) error {
	sub := st.sub
	if len(joined) == 0 || (sub.Contract == nil && !sub.IsPaid()) {
		return nil // the Free plan has no seats to run out of
	}
	count, err := st.tx.CountManagedUsers(st.a.ID)
	if err != nil || count <= sub.Seats {
		return err
	}
	return e.notify(ctx, st.tx, Notification{Type: NotifyLimitReached, AccountID: st.a.ID, AccountNumber: st.a.Number,
		Limit: &LimitReached{Seats: sub.Seats, ManagedUsers: count, UserID: onlyUser(joined), OnJoin: sub.OnJoin}})
}

// limitRefused tells the platform of a join the seat rules refused
// (seats_exhausted). The roster change rolled back, event and all, so the
// event is published, and audited, in a transaction of its own. It fails
// quietly: the caller returns the refusal either way.
func (e *Engine) limitRefused(ctx context.Context, accountID int64, joined []string, cause error) {
	if len(joined) == 0 || reasonOf(cause) != "seats_exhausted" || e.pay.notify == nil {
		return
	}
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		st, err := e.open(ctx, tx, accountID)
		if err != nil {
			return err
		}
		count, err := tx.CountManagedUsers(st.a.ID)
		if err != nil {
			return err
		}
		l := &LimitReached{Seats: st.sub.Seats, ManagedUsers: count, UserID: onlyUser(joined), OnJoin: st.sub.OnJoin, Refused: true}
		if err := tx.Audit("managed_users.join_refused", "account", st.a.Number, st.a.ID, nil, struct {
			Users        []string           `json:"user_ids"`
			Seats        int64              `json:"seats"`
			ManagedUsers int64              `json:"managed_users"`
			OnJoin       billing.JoinPolicy `json:"on_join"`
		}{joined, l.Seats, l.ManagedUsers, l.OnJoin}); err != nil {
			return err
		}
		return e.notify(ctx, tx, Notification{Type: NotifyLimitReached, AccountID: st.a.ID, AccountNumber: st.a.Number, Limit: l})
	})
	if err != nil {
		e.log.ErrorContext(ctx, "publish managed_users.limit_reached", slog.Int64("account_id", accountID), slog.Any("err", err))
	}
}
