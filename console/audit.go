package console

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
)

const auditPageSize = 50

// auditPage is the audit log: newest first, a page at a time.
type auditPage struct {
	AccountQuery string // the account number filtered on, as typed
	Account      *billing.Account
	Error        string
	Events       []auditRow
	NextBefore   int64 // cursor for the next (older) page; 0 at the end
	Before       int64
}

type auditRow struct {
	*billing.AuditEvent
	Account *billing.Account // nil for events of no account
	Changes []fieldChange
	Created bool // no state before: the changes are the new thing's fields
}

// Summary is the page's error summary: the account searched for that does
// not exist, linked to its field. Without it the message sat below the form
// and a screen reader said nothing after the search.
func (p auditPage) Summary() []errorItem {
	if p.Error == "" {
		return nil
	}
	return []errorItem{{ID: "account", Message: p.Error}}
}

// fieldChange is one top-level field an event changed.
type fieldChange struct {
	Field, Before, After string
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	data := auditPage{AccountQuery: strings.ToUpper(strings.TrimSpace(q.Get("account")))}
	filter := billing.AuditFilter{Limit: auditPageSize + 1}
	if before, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && before > 0 {
		filter.BeforeID, data.Before = before, before
	}
	if data.AccountQuery != "" {
		a, err := s.Accounts.FindAccountByNumber(ctx, data.AccountQuery)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			data.Error = "No account has the number " + data.AccountQuery + "."
			s.render(w, r, http.StatusUnprocessableEntity, "audit", &view{Title: "Audit log", Section: "audit", Data: data})
			return
		} else if err != nil {
			s.error(w, r, err)
			return
		}
		data.Account, filter.AccountID = a, &a.ID
	}
	events, err := s.Audit.FindAuditEvents(ctx, filter)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		data.NextBefore = events[len(events)-1].ID
	}
	accounts := map[int64]*billing.Account{}
	for _, e := range events {
		row := auditRow{AuditEvent: e, Changes: diffSnapshots(e.Before, e.After), Created: e.Before == nil}
		if e.AccountID != nil {
			a, ok := accounts[*e.AccountID]
			if !ok {
				a, err = s.Accounts.FindAccountByID(ctx, *e.AccountID)
				if err != nil {
					s.error(w, r, err)
					return
				}
				accounts[*e.AccountID] = a
			}
			row.Account = a
		}
		data.Events = append(data.Events, row)
	}
	s.render(w, r, http.StatusOK, "audit", &view{Title: "Audit log", Section: "audit", Account: nil, Data: data})
}

// diffSnapshots lists the top-level fields whose values differ between two
// JSON snapshots, in name order; a nested value is shown as compact JSON.
func diffSnapshots(before, after json.RawMessage) []fieldChange {
	var b, a map[string]json.RawMessage
	_ = json.Unmarshal(before, &b)
	_ = json.Unmarshal(after, &a)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	var out []fieldChange
	for k := range keys {
		bv, av := compactJSON(b[k]), compactJSON(a[k])
		if bv != av {
			out = append(out, fieldChange{Field: k, Before: bv, After: av})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// compactJSON shows a JSON value plainly: strings without quotes, others as
// compact JSON, nothing for absent or null.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
