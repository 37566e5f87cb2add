package console

import "net/http"

// handleHistory is Billing History: invoices, payments, refunds, credits
// and credit notes with links to their statements. It comes with the
// billing engine (issue 5, item 5), which replaces this handler and
// templates/history.html.
func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	a, ok := s.account(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "history", &view{Title: "Billing History", Section: "history", Account: a})
}
