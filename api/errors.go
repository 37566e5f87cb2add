package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// Problem is an RFC 9457 problem details body with a stable machine-readable
// code: the domain's sub-code where it has one ("profile_not_set"), else the
// error code ("invalid", "not_found", …).
type Problem struct {
	Type   string              `json:"type,omitempty" doc:"A URI reference that identifies the problem type."`
	Title  string              `json:"title" doc:"A short summary of the problem type."`
	Status int                 `json:"status" doc:"The HTTP status code."`
	Detail string              `json:"detail,omitempty" doc:"What went wrong, for a person."`
	Code   string              `json:"code" doc:"A stable code to branch on, e.g. invalid, not_found, conflict, unauthorized, forbidden, invalid_state, profile_not_set."`
	Errors []*huma.ErrorDetail `json:"errors,omitempty" doc:"The fields that were rejected, each with its location (body.email) and message."`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes problems application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// statusCodes maps each domain code to one HTTP status: the one error path.
var statusCodes = map[string]int{
	billing.EINVALID:      http.StatusUnprocessableEntity,
	billing.ENOTFOUND:     http.StatusNotFound,
	billing.ECONFLICT:     http.StatusConflict,
	billing.ESTATE:        http.StatusConflict,
	billing.EUNAUTHORIZED: http.StatusUnauthorized,
	billing.EFORBIDDEN:    http.StatusForbidden,
	billing.EPAYMENT:      http.StatusPaymentRequired,
	billing.EINTERNAL:     http.StatusInternalServerError,
}

// codeForStatus names huma's own errors (malformed JSON, schema validation).
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "malformed_request"
	case http.StatusUnprocessableEntity:
		return billing.EINVALID
	case http.StatusUnauthorized:
		return billing.EUNAUTHORIZED
	case http.StatusForbidden:
		return billing.EFORBIDDEN
	case http.StatusNotFound:
		return billing.ENOTFOUND
	case http.StatusConflict:
		return billing.ECONFLICT
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	if status >= 500 {
		return billing.EINTERNAL
	}
	return "error"
}

func init() {
	// huma builds every error it writes (its own validation errors and ours)
	// through NewError; make them all Problems.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		details := make([]*huma.ErrorDetail, 0, len(errs))
		for _, err := range errs {
			var d huma.ErrorDetailer
			if errors.As(err, &d) {
				details = append(details, d.ErrorDetail())
			} else if err != nil {
				details = append(details, &huma.ErrorDetail{Message: err.Error()})
			}
		}
		return &Problem{Status: status, Title: http.StatusText(status), Detail: msg, Code: codeForStatus(status), Errors: details}
	}
}

// problem turns an error from the domain into the Problem the client sees,
// logging internal errors with their cause (which the client never sees).
func (s *Server) problem(ctx context.Context, err error) error {
	var e *billing.Error
	if !errors.As(err, &e) {
		s.logger(ctx).ErrorContext(ctx, "internal error", slog.Any("err", err))
		return &Problem{Status: 500, Title: http.StatusText(500), Detail: "Internal error.", Code: billing.EINTERNAL}
	}
	status, ok := statusCodes[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: e.Message, Code: e.Code}
	if e.Reason != "" {
		p.Code = e.Reason
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: "body." + f.Field, Message: f.Message})
	}
	return p
}
