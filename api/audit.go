package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// AuditEvent is one recorded change.
type AuditEvent struct {
	ID            int64           `json:"id"`
	At            time.Time       `json:"at"`
	Actor         string          `json:"actor" example:"key:kb_3f9a12c4"`
	Action        string          `json:"action" example:"profile.set"`
	TargetType    string          `json:"target_type" example:"account"`
	TargetID      string          `json:"target_id" example:"KB-000001"`
	AccountNumber string          `json:"account_number,omitempty"`
	Before        json.RawMessage `json:"before,omitempty" doc:"The state before the change; absent for creations."`
	After         json.RawMessage `json:"after,omitempty" doc:"The state after the change; absent for removals."`
}

type AuditQuery struct {
	Action string `query:"action" maxLength:"100" doc:"Only events with this action."`
	Before int64  `query:"before" minimum:"0" doc:"Cursor: the next_cursor of the previous page."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type accountAuditInput struct {
	AccountParam
	AuditQuery
}

type auditOutput struct {
	Body struct {
		Items      []AuditEvent `json:"items" doc:"Newest first."`
		NextCursor int64        `json:"next_cursor,omitempty" doc:"Pass as ?before= for the next page; absent on the last page."`
	}
}

func (s *Server) auditPage(ctx context.Context, f billing.AuditFilter, number string) (*auditOutput, error) {
	events, err := s.Audit.FindAuditEvents(ctx, f)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &auditOutput{}
	out.Body.Items = make([]AuditEvent, 0, len(events))
	for _, e := range events {
		out.Body.Items = append(out.Body.Items, AuditEvent{
			ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, TargetType: e.TargetType,
			TargetID: e.TargetID, AccountNumber: number, Before: e.Before, After: e.After,
		})
	}
	if len(events) == f.Limit && len(events) > 0 {
		out.Body.NextCursor = events[len(events)-1].ID
	}
	return out, nil
}

func (s *Server) registerAudit() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-account-audit-events", Method: http.MethodGet, Path: "/v1/accounts/{number}/audit-events",
		Summary: "List an account's audit events", Tags: []string{"Audit"},
	}, func(ctx context.Context, in *accountAuditInput) (*auditOutput, error) {
		a, err := s.account(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.auditPage(ctx, billing.AuditFilter{AccountID: &a.ID, Action: in.Action, BeforeID: in.Before, Limit: in.Limit}, a.Number)
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-audit-events", Method: http.MethodGet, Path: "/v1/audit-events",
		Summary: "List all audit events (operator)", Tags: []string{"Audit"},
	}, func(ctx context.Context, in *AuditQuery) (*auditOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.auditPage(ctx, billing.AuditFilter{Action: in.Action, BeforeID: in.Before, Limit: in.Limit}, "")
	})
}
