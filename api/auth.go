package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// authenticate resolves the bearer key of every /v1 operation (the document
// declares bearer security for all of them) and puts its actor in the
// context. Authorisation (may this actor touch this account?) is decided by
// each handler.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	if !strings.HasPrefix(ctx.Operation().Path, "/v1/") {
		next(ctx)
		return
	}
	header := ctx.Header("Authorization")
	secret, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="korebill"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "Send an API key as 'Authorization: Bearer <key>'.")
		return
	}
	key, ok := ctx.Context().Value(authenticatedKey{}).(*billing.APIKey) // the idempotency layer checked it
	var err error
	if !ok {
		key, err = s.Keys.Authenticate(ctx.Context(), strings.TrimSpace(secret))
	}
	if err != nil {
		if billing.ErrorCode(err) != billing.EUNAUTHORIZED {
			s.logger(ctx.Context()).ErrorContext(ctx.Context(), "authenticate", slog.Any("err", err))
			_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "Internal error.")
			return
		}
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="korebill", error="invalid_token"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "The API key is not valid.")
		return
	}
	actor := billing.Actor{Name: "key:" + key.Prefix, Role: key.Role, AccountID: key.AccountID}
	c := billing.NewContextWithActor(ctx.Context(), actor)
	c = context.WithValue(c, logKey{}, s.logger(c).With(slog.String("actor", actor.Name)))
	if info, ok := c.Value(infoKey{}).(*requestInfo); ok {
		info.actor = actor.Name
	}
	next(huma.WithContext(ctx, c))
}

// authenticatedKey is the context key of the API key the idempotency layer
// authenticated before reserving an Idempotency-Key.
type authenticatedKey struct{}

// bearerKey returns the valid API key of r's Authorization header, or false.
func (s *Server) bearerKey(r *http.Request) (*billing.APIKey, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(secret) == "" || s.Keys == nil {
		return nil, false
	}
	key, err := s.Keys.Authenticate(r.Context(), strings.TrimSpace(secret))
	return key, err == nil
}

// notFoundAccount is what an actor that may not read an account is told:
// the same as for an account that does not exist, so that keys of one
// tenant cannot discover another.
func notFoundAccount(number string) error {
	return billing.Errorf(billing.ENOTFOUND, "Account %s not found.", number)
}

// Access levels a handler asks for.
type access int

const (
	read access = iota
	manage
	syncUsers
)

// account loads the account in the path and checks the actor's access to it.
func (s *Server) account(ctx context.Context, number string, need access) (*billing.Account, error) {
	actor := billing.ActorFromContext(ctx)
	a, err := s.Accounts.FindAccountByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	if !actor.CanRead(a.ID) {
		return nil, notFoundAccount(number)
	}
	switch {
	case need == manage && !actor.CanManage(a.ID),
		need == syncUsers && !actor.CanSyncUsers(a.ID):
		return nil, billing.Errorf(billing.EFORBIDDEN, "Role %s may not change account %s.", actor.Role, number)
	}
	return a, nil
}

// requireRole refuses actors whose role is not one of roles.
func requireRole(ctx context.Context, roles ...billing.Role) error {
	actor := billing.ActorFromContext(ctx)
	for _, r := range roles {
		if actor.Role == r {
			return nil
		}
	}
	return billing.Errorf(billing.EFORBIDDEN, "This needs one of the roles %v; the key has role %q.", roles, actor.Role)
}
