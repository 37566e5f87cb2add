package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// ManagedUser is one user of the roster the platform reports.
type ManagedUser struct {
	UserID       string     `json:"user_id" example:"u_1842"`
	Email        string     `json:"email" example:"grace@acme.example.com"`
	Status       string     `json:"status" enum:"active,suspended"`
	ManagedSince time.Time  `json:"managed_since"`
	LastActiveAt *time.Time `json:"last_active_at,omitempty"`
}

func toManagedUser(u *billing.ManagedUser) ManagedUser {
	return ManagedUser{UserID: u.UserID, Email: u.Email, Status: string(u.Status),
		ManagedSince: u.ManagedSince, LastActiveAt: u.LastActiveAt}
}

// ManagedUserBody is a roster entry as the platform sends it.
type ManagedUserBody struct {
	UserID       string     `json:"user_id" minLength:"1" maxLength:"200" example:"u_1842"`
	Email        string     `json:"email" maxLength:"254" example:"grace@acme.example.com"`
	Status       string     `json:"status,omitempty" enum:"active,suspended" default:"active"`
	LastActiveAt *time.Time `json:"last_active_at,omitempty" doc:"When the user was last active on the platform."`
}

func (b ManagedUserBody) user(accountID int64) billing.ManagedUser {
	return billing.ManagedUser{AccountID: accountID, UserID: b.UserID, Email: b.Email,
		Status: billing.ManagedUserStatus(b.Status), LastActiveAt: b.LastActiveAt}
}

type listUsersInput struct {
	AccountParam
	Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	Offset int `query:"offset" minimum:"0" default:"0"`
}

type usersOutput struct {
	Body struct {
		Items  []ManagedUser `json:"items"`
		Total  int           `json:"total"`
		Limit  int           `json:"limit"`
		Offset int           `json:"offset"`
	}
}

type replaceUsersInput struct {
	AccountParam
	Body struct {
		Users []ManagedUserBody `json:"users" maxItems:"100000" doc:"The whole roster; users not listed are no longer managed."`
	}
}

type replaceUsersOutput struct {
	Body billing.RosterChange
}

type UserParam struct {
	AccountParam
	UserID string `path:"user_id" maxLength:"200"`
}

type upsertUserInput struct {
	UserParam
	Body struct {
		Email        string     `json:"email" maxLength:"254"`
		Status       string     `json:"status,omitempty" enum:"active,suspended" default:"active"`
		LastActiveAt *time.Time `json:"last_active_at,omitempty"`
	}
}

type userOutput struct{ Body ManagedUser }

func (s *Server) registerUsers() {
	tags := []string{"Managed users"}
	huma.Register(s.api, huma.Operation{
		OperationID: "list-managed-users", Method: http.MethodGet, Path: "/v1/accounts/{number}/managed-users",
		Summary: "List managed users", Tags: tags,
	}, func(ctx context.Context, in *listUsersInput) (*usersOutput, error) {
		a, err := s.account(ctx, in.Number, read)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		users, total, err := s.Users.FindManagedUsers(ctx, billing.ManagedUserFilter{AccountID: a.ID, Limit: in.Limit, Offset: in.Offset})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &usersOutput{}
		out.Body.Items = make([]ManagedUser, 0, len(users))
		for _, u := range users {
			out.Body.Items = append(out.Body.Items, toManagedUser(u))
		}
		out.Body.Total, out.Body.Limit, out.Body.Offset = total, in.Limit, in.Offset
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "replace-managed-users", Method: http.MethodPut, Path: "/v1/accounts/{number}/managed-users",
		Summary: "Replace the managed-user roster (platform sync)", Tags: tags,
		Description: "Makes the roster exactly the list sent, in one transaction, and says who was added, removed and updated.",
	}, func(ctx context.Context, in *replaceUsersInput) (*replaceUsersOutput, error) {
		a, err := s.account(ctx, in.Number, syncUsers)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		users := make([]billing.ManagedUser, 0, len(in.Body.Users))
		for _, b := range in.Body.Users {
			users = append(users, b.user(a.ID))
		}
		change, err := s.Users.ReplaceManagedUsers(ctx, a.ID, users)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &replaceUsersOutput{Body: change}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "put-managed-user", Method: http.MethodPut, Path: "/v1/accounts/{number}/managed-users/{user_id}",
		Summary: "Add or update one managed user", Tags: tags,
	}, func(ctx context.Context, in *upsertUserInput) (*userOutput, error) {
		a, err := s.account(ctx, in.Number, syncUsers)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		u := ManagedUserBody{UserID: in.UserID, Email: in.Body.Email, Status: in.Body.Status, LastActiveAt: in.Body.LastActiveAt}.user(a.ID)
		if err := s.Users.UpsertManagedUser(ctx, &u); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &userOutput{Body: toManagedUser(&u)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "delete-managed-user", Method: http.MethodDelete, Path: "/v1/accounts/{number}/managed-users/{user_id}",
		Summary: "Remove one managed user", Tags: tags, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *UserParam) (*struct{}, error) {
		a, err := s.account(ctx, in.Number, syncUsers)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.Users.RemoveManagedUser(ctx, a.ID, in.UserID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}
