package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
	"github.com/kore-billing/korebill/webhook"
)

// WebhookService is what the webhook routes need; *webhook.Service is one.
type WebhookService interface {
	CreateEndpoint(ctx context.Context, e *webhook.Endpoint) error
	Endpoints(ctx context.Context) ([]*webhook.Endpoint, error)
	Endpoint(ctx context.Context, id int64) (*webhook.Endpoint, error)
	UpdateEndpoint(ctx context.Context, id int64, upd webhook.EndpointUpdate) (*webhook.Endpoint, error)
	DeleteEndpoint(ctx context.Context, id int64) error
	Events(ctx context.Context, f webhook.EventFilter) ([]*webhook.Event, int, error)
	Event(ctx context.Context, id string) (*webhook.Event, error)
	Deliveries(ctx context.Context, f webhook.DeliveryFilter) ([]*webhook.Delivery, int, error)
	Delivery(ctx context.Context, id int64) (*webhook.Delivery, error)
	ReplayDelivery(ctx context.Context, id int64) (*webhook.Delivery, error)
	ReplayEvent(ctx context.Context, id string) ([]*webhook.Delivery, error)
}

// The event type enums in the schema below list webhook.EventTypes(); a
// test creates an endpoint with every one of them.

// WebhookEndpoint is an endpoint as listed: never its secret.
type WebhookEndpoint struct {
	ID          int64      `json:"id"`
	URL         string     `json:"url" example:"https://platform.example.com/hooks/billing"`
	Description string     `json:"description,omitempty"`
	EventTypes  []string   `json:"event_types" doc:"The event types it receives; empty: every type."`
	Disabled    bool       `json:"disabled"`
	DisabledAt  *time.Time `json:"disabled_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func toWebhookEndpoint(e *webhook.Endpoint) WebhookEndpoint {
	types := make([]string, 0, len(e.EventTypes))
	for _, t := range e.EventTypes {
		types = append(types, string(t))
	}
	return WebhookEndpoint{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: types,
		Disabled: e.Disabled(), DisabledAt: e.DisabledAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

func eventTypes(in []string) []webhook.EventType {
	out := make([]webhook.EventType, 0, len(in))
	for _, t := range in {
		out = append(out, webhook.EventType(t))
	}
	return out
}

// WebhookEvent is an event as every endpoint that wants it receives it.
type WebhookEvent struct {
	ID            string          `json:"id" example:"evt_5b0c2e7d9a41f3c6e8b21d07"`
	Type          string          `json:"type" enum:"invoice.finalized,invoice.paid,payment.failed,subscription.updated,account.suspended,account.reactivated,managed_users.limit_reached"`
	CreatedAt     time.Time       `json:"created_at"`
	AccountNumber string          `json:"account_number,omitempty"`
	Data          json.RawMessage `json:"data" doc:"The event's object; its shape depends on the type (docs/webhooks.md)."`
}

func toWebhookEvent(e *webhook.Event) WebhookEvent {
	return WebhookEvent{ID: e.ID, Type: string(e.Type), CreatedAt: e.CreatedAt, AccountNumber: e.AccountNumber, Data: e.Data}
}

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID             int64      `json:"id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	AccountNumber  string     `json:"account_number,omitempty"`
	EndpointID     int64      `json:"endpoint_id,omitempty" doc:"Absent once the endpoint is deleted."`
	EndpointURL    string     `json:"endpoint_url,omitempty"`
	Status         string     `json:"status" enum:"pending,delivered,failed"`
	Attempts       int        `json:"attempts" doc:"Attempts made, replays included."`
	LastStatusCode int        `json:"last_status_code,omitempty" doc:"The HTTP status of the last attempt; absent when it got no answer."`
	LastError      string     `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty" doc:"When a pending delivery is tried next."`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	URL        string    `json:"url,omitempty"`
	StatusCode int       `json:"status_code,omitempty" doc:"Absent when there was no answer."`
	Error      string    `json:"error,omitempty" doc:"Why the attempt failed; absent for a 2xx."`
	DurationMS float64   `json:"duration_ms"`
	Response   string    `json:"response,omitempty" doc:"The start of the answer's body."`
}

func toWebhookDelivery(d *webhook.Delivery) WebhookDelivery {
	return WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: string(d.EventType), AccountNumber: d.AccountNumber,
		EndpointID: d.EndpointID, EndpointURL: d.EndpointURL, Status: string(d.Status), Attempts: d.Attempts,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, NextAttemptAt: d.NextAttemptAt,
		DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

type webhookEndpointOutput struct {
	Body WebhookEndpoint
}

type webhookEndpointSecretOutput struct {
	Body struct {
		WebhookEndpoint
		Secret string `json:"secret" doc:"Signs every request to the endpoint (Korebill-Signature). Shown once; store it now."`
	}
}

type WebhookEndpointParam struct {
	ID int64 `path:"id" minimum:"1"`
}

type createWebhookEndpointInput struct {
	Body struct {
		URL         string   `json:"url" minLength:"1" maxLength:"2048" example:"https://platform.example.com/hooks/billing" doc:"Absolute https:// (or http://) URL, without credentials or #fragment."`
		Description string   `json:"description,omitempty" maxLength:"500"`
		EventTypes  []string `json:"event_types,omitempty" enum:"invoice.finalized,invoice.paid,payment.failed,subscription.updated,account.suspended,account.reactivated,managed_users.limit_reached" doc:"The event types to receive; leave out for every type."`
	}
}

type updateWebhookEndpointInput struct {
	WebhookEndpointParam
	Body struct {
		URL         *string   `json:"url,omitempty" minLength:"1" maxLength:"2048"`
		Description *string   `json:"description,omitempty" maxLength:"500"`
		EventTypes  *[]string `json:"event_types,omitempty" enum:"invoice.finalized,invoice.paid,payment.failed,subscription.updated,account.suspended,account.reactivated,managed_users.limit_reached" doc:"Replaces the list; [] for every type."`
		Disabled    *bool     `json:"disabled,omitempty" doc:"true: the endpoint gets nothing, and its pending deliveries fail; false: it gets new events again."`
	}
}

type webhookEndpointsOutput struct {
	Body struct {
		Items []WebhookEndpoint `json:"items"`
	}
}

type webhookEventParam struct {
	ID string `path:"id" pattern:"^evt_[0-9a-f]{24}$" example:"evt_5b0c2e7d9a41f3c6e8b21d07"`
}

type listWebhookEventsInput struct {
	Type          string `query:"type" enum:"invoice.finalized,invoice.paid,payment.failed,subscription.updated,account.suspended,account.reactivated,managed_users.limit_reached"`
	AccountNumber string `query:"account_number" pattern:"^KB-[0-9]{6,}$"`
	Limit         int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset        int    `query:"offset" minimum:"0" default:"0"`
}

type webhookEventOutput struct {
	Body WebhookEvent
}

type webhookEventsOutput struct {
	Body struct {
		Items  []WebhookEvent `json:"items" doc:"Newest first."`
		Total  int            `json:"total"`
		Limit  int            `json:"limit"`
		Offset int            `json:"offset"`
	}
}

type listWebhookDeliveriesInput struct {
	Status        string `query:"status" enum:"pending,delivered,failed"`
	EndpointID    int64  `query:"endpoint_id" minimum:"0"`
	EventType     string `query:"event_type" enum:"invoice.finalized,invoice.paid,payment.failed,subscription.updated,account.suspended,account.reactivated,managed_users.limit_reached"`
	EventID       string `query:"event_id" pattern:"^evt_[0-9a-f]{24}$"`
	AccountNumber string `query:"account_number" pattern:"^KB-[0-9]{6,}$"`
	Limit         int    `query:"limit" minimum:"1" maximum:"500" default:"50"`
	Offset        int    `query:"offset" minimum:"0" default:"0"`
}

type webhookDeliveriesOutput struct {
	Body struct {
		Items  []WebhookDelivery `json:"items" doc:"Newest first."`
		Total  int               `json:"total"`
		Limit  int               `json:"limit"`
		Offset int               `json:"offset"`
	}
}

type WebhookDeliveryParam struct {
	ID int64 `path:"id" minimum:"1"`
}

// WebhookDeliveryDetail is a delivery with its event and every attempt.
type WebhookDeliveryDetail struct {
	WebhookDelivery
	Event WebhookEvent     `json:"event"`
	Log   []WebhookAttempt `json:"log" doc:"Every attempt, oldest first."`
}

type webhookDeliveryOutput struct {
	Body WebhookDeliveryDetail
}

type replayedOutput struct {
	Body struct {
		Items []WebhookDelivery `json:"items" doc:"The deliveries that will be attempted again, now."`
	}
}

func toWebhookDeliveryDetail(d *webhook.Delivery) WebhookDeliveryDetail {
	out := WebhookDeliveryDetail{WebhookDelivery: toWebhookDelivery(d), Log: []WebhookAttempt{}}
	if d.Event != nil {
		out.Event = toWebhookEvent(d.Event)
	}
	for _, a := range d.Log {
		out.Log = append(out.Log, WebhookAttempt{Attempt: a.Attempt, At: a.At, URL: a.URL, StatusCode: a.StatusCode,
			Error: a.Error, DurationMS: float64(a.Duration.Microseconds()) / 1000, Response: a.Response})
	}
	return out
}

// webhooks returns the service, or the problem that there is none.
func (s *Server) webhooks(ctx context.Context) (WebhookService, error) {
	if err := requireRole(ctx, billing.RoleOperator); err != nil {
		return nil, s.problem(ctx, err)
	}
	if s.Webhooks == nil {
		return nil, &Problem{Status: http.StatusNotImplemented, Title: http.StatusText(http.StatusNotImplemented),
			Detail: "Webhooks are not configured on this server.", Code: "not_configured"}
	}
	return s.Webhooks, nil
}

func (s *Server) registerWebhooks() {
	tags := []string{"Webhooks"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-webhook-endpoint", Method: http.MethodPost, Path: "/v1/webhook-endpoints",
		Summary: "Create a webhook endpoint (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "The endpoint receives the events of every account, signed with its secret, which this " +
			"answer shows once. See docs/webhooks.md for the payload and how to verify the signature.",
	}, func(ctx context.Context, in *createWebhookEndpointInput) (*webhookEndpointSecretOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		e := &webhook.Endpoint{URL: in.Body.URL, Description: in.Body.Description, EventTypes: eventTypes(in.Body.EventTypes)}
		if err := svc.CreateEndpoint(ctx, e); err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &webhookEndpointSecretOutput{}
		out.Body.WebhookEndpoint, out.Body.Secret = toWebhookEndpoint(e), e.Secret
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-webhook-endpoints", Method: http.MethodGet, Path: "/v1/webhook-endpoints",
		Summary: "List webhook endpoints (operator)", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*webhookEndpointsOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		list, err := svc.Endpoints(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &webhookEndpointsOutput{}
		out.Body.Items = make([]WebhookEndpoint, 0, len(list))
		for _, e := range list {
			out.Body.Items = append(out.Body.Items, toWebhookEndpoint(e))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-webhook-endpoint", Method: http.MethodGet, Path: "/v1/webhook-endpoints/{id}",
		Summary: "Get a webhook endpoint (operator)", Tags: tags,
	}, func(ctx context.Context, in *WebhookEndpointParam) (*webhookEndpointOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		e, err := svc.Endpoint(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &webhookEndpointOutput{Body: toWebhookEndpoint(e)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-webhook-endpoint", Method: http.MethodPatch, Path: "/v1/webhook-endpoints/{id}",
		Summary: "Change, disable or enable a webhook endpoint (operator)", Tags: tags,
		Description: "Only the fields sent change.",
	}, func(ctx context.Context, in *updateWebhookEndpointInput) (*webhookEndpointOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		upd := webhook.EndpointUpdate{URL: in.Body.URL, Description: in.Body.Description, Disabled: in.Body.Disabled}
		if in.Body.EventTypes != nil {
			types := eventTypes(*in.Body.EventTypes)
			upd.EventTypes = &types
		}
		e, err := svc.UpdateEndpoint(ctx, in.ID, upd)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &webhookEndpointOutput{Body: toWebhookEndpoint(e)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "rotate-webhook-endpoint-secret", Method: http.MethodPost, Path: "/v1/webhook-endpoints/{id}/rotate-secret",
		Summary: "Give a webhook endpoint a new secret (operator)", Tags: tags,
		Description: "The new secret is shown once and signs every request from now on; the old one stops at once.",
	}, func(ctx context.Context, in *WebhookEndpointParam) (*webhookEndpointSecretOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		e, err := svc.UpdateEndpoint(ctx, in.ID, webhook.EndpointUpdate{RotateSecret: true})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &webhookEndpointSecretOutput{}
		out.Body.WebhookEndpoint, out.Body.Secret = toWebhookEndpoint(e), e.Secret
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-webhook-endpoint", Method: http.MethodDelete, Path: "/v1/webhook-endpoints/{id}",
		Summary: "Delete a webhook endpoint (operator)", Tags: tags, DefaultStatus: http.StatusNoContent,
		Description: "Its deliveries stay in the log; pending ones fail at their next attempt.",
	}, func(ctx context.Context, in *WebhookEndpointParam) (*struct{}, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		if err := svc.DeleteEndpoint(ctx, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-webhook-events", Method: http.MethodGet, Path: "/v1/webhook-events",
		Summary: "List webhook events (operator)", Tags: tags,
	}, func(ctx context.Context, in *listWebhookEventsInput) (*webhookEventsOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		list, total, err := svc.Events(ctx, webhook.EventFilter{Type: webhook.EventType(in.Type),
			AccountNumber: in.AccountNumber, Limit: in.Limit, Offset: in.Offset})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &webhookEventsOutput{}
		out.Body.Items = make([]WebhookEvent, 0, len(list))
		for _, e := range list {
			out.Body.Items = append(out.Body.Items, toWebhookEvent(e))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-webhook-event", Method: http.MethodGet, Path: "/v1/webhook-events/{id}",
		Summary: "Get a webhook event (operator)", Tags: tags,
	}, func(ctx context.Context, in *webhookEventParam) (*webhookEventOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		e, err := svc.Event(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &webhookEventOutput{Body: toWebhookEvent(e)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "replay-webhook-event", Method: http.MethodPost, Path: "/v1/webhook-events/{id}/replay",
		Summary: "Send a webhook event again (operator)", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "Sends the event again, now, to every enabled endpoint that wants its type (endpoints added " +
			"since included), except where a delivery of it is still pending.",
	}, func(ctx context.Context, in *webhookEventParam) (*replayedOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		ds, err := svc.ReplayEvent(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &replayedOutput{}
		out.Body.Items = make([]WebhookDelivery, 0, len(ds))
		for _, d := range ds {
			out.Body.Items = append(out.Body.Items, toWebhookDelivery(d))
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-webhook-deliveries", Method: http.MethodGet, Path: "/v1/webhook-deliveries",
		Summary: "List webhook deliveries (operator)", Tags: tags,
	}, func(ctx context.Context, in *listWebhookDeliveriesInput) (*webhookDeliveriesOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		list, total, err := svc.Deliveries(ctx, webhook.DeliveryFilter{
			Status: webhook.DeliveryStatus(in.Status), EndpointID: in.EndpointID, EventType: webhook.EventType(in.EventType),
			EventID: in.EventID, AccountNumber: in.AccountNumber, Limit: in.Limit, Offset: in.Offset,
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &webhookDeliveriesOutput{}
		out.Body.Items = make([]WebhookDelivery, 0, len(list))
		for _, d := range list {
			out.Body.Items = append(out.Body.Items, toWebhookDelivery(d))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-webhook-delivery", Method: http.MethodGet, Path: "/v1/webhook-deliveries/{id}",
		Summary: "Get a webhook delivery with its event and every attempt (operator)", Tags: tags,
	}, func(ctx context.Context, in *WebhookDeliveryParam) (*webhookDeliveryOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		d, err := svc.Delivery(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &webhookDeliveryOutput{Body: toWebhookDeliveryDetail(d)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "replay-webhook-delivery", Method: http.MethodPost, Path: "/v1/webhook-deliveries/{id}/replay",
		Summary: "Send a webhook delivery again (operator)", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "A delivered or failed delivery is attempted again, now, with a fresh series of retries. " +
			"A pending one is refused (delivery_pending): it will be attempted anyway.",
	}, func(ctx context.Context, in *WebhookDeliveryParam) (*webhookDeliveryOutput, error) {
		svc, err := s.webhooks(ctx)
		if err != nil {
			return nil, err
		}
		d, err := svc.ReplayDelivery(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &webhookDeliveryOutput{Body: toWebhookDeliveryDetail(d)}, nil
	})
}
