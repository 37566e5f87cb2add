package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// APIKey is a key as listed: never its secret.
type APIKey struct {
	ID            int64      `json:"id"`
	Prefix        string     `json:"prefix" example:"kb_3f9a12c4" doc:"Identifies the key in lists and logs."`
	Name          string     `json:"name"`
	Role          string     `json:"role" enum:"operator,platform,owner,billing_admin,viewer"`
	AccountNumber string     `json:"account_number,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at,omitempty"`
	RevokedAt     *time.Time `json:"revoked_at,omitempty"`
}

type createKeyInput struct {
	Body struct {
		Name          string `json:"name,omitempty" maxLength:"100"`
		Role          string `json:"role" enum:"operator,platform,owner,billing_admin,viewer"`
		AccountNumber string `json:"account_number,omitempty" pattern:"^KB-[0-9]{6,}$" doc:"Required for owner, billing_admin and viewer keys."`
	}
}

type createKeyOutput struct {
	Body struct {
		APIKey
		Secret string `json:"secret" doc:"The key. Shown once; store it now."`
	}
}

type keysOutput struct {
	Body struct {
		Items []APIKey `json:"items"`
	}
}

type KeyParam struct {
	ID int64 `path:"id"`
}

func (s *Server) toAPIKey(ctx context.Context, k *billing.APIKey) (APIKey, error) {
	out := APIKey{ID: k.ID, Prefix: k.Prefix, Name: k.Name, Role: string(k.Role),
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
	if k.AccountID != 0 {
		a, err := s.Accounts.FindAccountByID(ctx, k.AccountID)
		if err != nil {
			return out, err
		}
		out.AccountNumber = a.Number
	}
	return out, nil
}

func (s *Server) registerKeys() {
	tags := []string{"API keys"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-api-key", Method: http.MethodPost, Path: "/v1/api-keys",
		Summary: "Create an API key (operator)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Keys are random, stored hashed and shown once. Operator and platform keys reach every " +
			"account; owner, billing_admin and viewer keys reach one.",
	}, func(ctx context.Context, in *createKeyInput) (*createKeyOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		k := &billing.APIKey{Name: in.Body.Name, Role: billing.Role(in.Body.Role)}
		if in.Body.AccountNumber != "" {
			a, err := s.Accounts.FindAccountByNumber(ctx, in.Body.AccountNumber)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			k.AccountID = a.ID
		}
		secret, err := s.Keys.CreateAPIKey(ctx, k)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &createKeyOutput{}
		if out.Body.APIKey, err = s.toAPIKey(ctx, k); err != nil {
			return nil, s.problem(ctx, err)
		}
		out.Body.Secret = secret
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-api-keys", Method: http.MethodGet, Path: "/v1/api-keys",
		Summary: "List API keys (operator)", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*keysOutput, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		keys, err := s.Keys.FindAPIKeys(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &keysOutput{}
		out.Body.Items = make([]APIKey, 0, len(keys))
		for _, k := range keys {
			ak, err := s.toAPIKey(ctx, k)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out.Body.Items = append(out.Body.Items, ak)
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/v1/api-keys/{id}",
		Summary: "Revoke an API key (operator)", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *KeyParam) (*struct{}, error) {
		if err := requireRole(ctx, billing.RoleOperator); err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.Keys.RevokeAPIKey(ctx, in.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}
