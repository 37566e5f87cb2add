package console

import "net/http"

// handleSummary is the Account Summary. For now it shows the account
// itself; the subscription, plan, seats and payment method come with the
// billing engine (issue 5, items 2 and 3), which replaces this handler and
// templates/summary.html's "Subscription" section.
func (s *Server) handleSummary(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "summary", &view{Title: "Account Summary", Section: "summary", Account: a})
}
