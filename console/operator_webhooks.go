package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/mail"
	"github.com/kore-billing/korebill/webhook"
)

// Webhooks (the endpoints the platform receives events at, and every
// delivery with its attempts) and the email outbox.

const deliveriesShown = 50

type webhooksPage struct {
	Configured bool
	Endpoints  []*webhook.Endpoint
	Types      []webhook.EventType
	Form       endpointForm
	Errors     map[string]string
	Order      []string
	Created    *webhook.Endpoint // just made: its secret is shown this once
	Status     string            // the deliveries' filter
	Deliveries []*webhook.Delivery
	Total      int
}

type endpointForm struct {
	URL, Description string
	Types            map[string]bool
}

var endpointFieldOrder = []string{"url", "description", "event_types"}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, webhooksPage{})
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, data webhooksPage) {
	data.Types = webhook.EventTypes()
	if data.Errors == nil {
		data.Errors = map[string]string{}
	}
	data.Order = endpointFieldOrder
	if s.Webhooks != nil {
		ctx := r.Context()
		data.Configured = true
		eps, err := s.Webhooks.Endpoints(ctx)
		if err != nil {
			s.error(w, r, err)
			return
		}
		data.Endpoints = eps
		f := webhook.DeliveryFilter{Limit: deliveriesShown}
		if st := webhook.DeliveryStatus(r.URL.Query().Get("status")); st.Valid() {
			f.Status, data.Status = st, string(st)
		}
		if data.Deliveries, data.Total, err = s.Webhooks.Deliveries(ctx, f); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.render(w, r, status, "operator_webhooks", &view{Title: "Webhooks", Section: "webhooks", Data: data})
}

func (s *Server) handleCreateEndpoint(w http.ResponseWriter, r *http.Request) {
	if s.Webhooks == nil {
		s.notFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.error(w, r, billing.Errorf(billing.EINVALID, "The form could not be read."))
		return
	}
	form := endpointForm{URL: strings.TrimSpace(r.PostFormValue("url")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Types: map[string]bool{}}
	e := &webhook.Endpoint{URL: form.URL, Description: form.Description, EventTypes: []webhook.EventType{}}
	for _, t := range r.PostForm["event_types"] {
		form.Types[t] = true
		e.EventTypes = append(e.EventTypes, webhook.EventType(t))
	}
	err := s.Webhooks.CreateEndpoint(r.Context(), e)
	switch billing.ErrorCode(err) {
	case "":
		// The secret is shown on this page only: never in the session or a
		// redirect.
		s.renderWebhooks(w, r, http.StatusOK, webhooksPage{Created: e})
	case billing.EINVALID, billing.ECONFLICT:
		s.renderWebhooks(w, r, http.StatusUnprocessableEntity, webhooksPage{Form: form, Errors: userErrors(err, "url", nil)})
	default:
		s.error(w, r, err)
	}
}

type deliveryPage struct {
	D *webhook.Delivery
}

// delivery loads the delivery the path names.
func (s *Server) delivery(w http.ResponseWriter, r *http.Request) (*webhook.Delivery, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if s.Webhooks == nil || err != nil || id < 1 {
		s.notFound(w, r)
		return nil, false
	}
	d, err := s.Webhooks.Delivery(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return nil, false
	}
	return d, true
}

func (s *Server) handleDelivery(w http.ResponseWriter, r *http.Request) {
	d, ok := s.delivery(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "operator_delivery", &view{Title: "Delivery " + strconv.FormatInt(d.ID, 10), Section: "webhooks",
		Data: deliveryPage{D: d}})
}

func (s *Server) handleReplayDelivery(w http.ResponseWriter, r *http.Request) {
	d, ok := s.delivery(w, r)
	if !ok {
		return
	}
	if _, err := s.Webhooks.ReplayDelivery(r.Context(), d.ID); err != nil {
		s.error(w, r, err)
		return
	}
	s.flash(r, "Delivery "+strconv.FormatInt(d.ID, 10)+" of "+d.EventID+" is queued to be sent again now.")
	http.Redirect(w, r, "/webhooks/deliveries/"+strconv.FormatInt(d.ID, 10), http.StatusSeeOther)
}

// The email outbox.

const emailsPageSize = 50

type emailsPage struct {
	Configured bool
	Status     string
	Statuses   []mail.Status
	Emails     []*mail.Message
	Total      int
	Page       int
	Pages      int
}

func (s *Server) handleEmails(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	data := emailsPage{Configured: s.Emails != nil, Page: 1,
		Statuses: []mail.Status{mail.StatusQueued, mail.StatusSent, mail.StatusFailed, mail.StatusRecorded}}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		data.Page = n
	}
	if s.Emails != nil {
		f := mail.Filter{Limit: emailsPageSize, Offset: (data.Page - 1) * emailsPageSize}
		if st := mail.Status(q.Get("status")); st.Valid() {
			f.Status, data.Status = st, string(st)
		}
		var err error
		if data.Emails, data.Total, err = s.Emails.Emails(r.Context(), f); err != nil {
			s.error(w, r, err)
			return
		}
		data.Pages = max(1, (data.Total+emailsPageSize-1)/emailsPageSize)
	}
	s.render(w, r, http.StatusOK, "operator_emails", &view{Title: "Emails", Section: "emails", Data: data})
}

func (s *Server) handleEmail(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if s.Emails == nil || err != nil || id < 1 {
		s.notFound(w, r)
		return
	}
	m, err := s.Emails.Email(r.Context(), id)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "operator_email", &view{Title: m.Subject, Section: "emails", Data: m})
}
