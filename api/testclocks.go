package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kore-billing/korebill/billing"
)

// TestClockService stores test clocks and which accounts read them.
type TestClockService interface {
	CreateTestClock(ctx context.Context, c *billing.TestClock) error
	FindTestClock(ctx context.Context, id int64) (*billing.TestClock, error)
	FindTestClocks(ctx context.Context) ([]*billing.TestClock, error)
	AttachTestClock(ctx context.Context, clockID, accountID int64) error
	TestClockAccounts(ctx context.Context, clockID int64) ([]int64, error)
}

// TestClockAdvancer moves a clock forward, running what falls due.
type TestClockAdvancer interface {
	AdvanceTestClock(ctx context.Context, id int64, to time.Time) (*billing.TestClock, error)
}

// TestClock is a test clock with the accounts attached to it.
type TestClock struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Now          time.Time  `json:"now" doc:"The time every attached account reads."`
	Accounts     []string   `json:"accounts" doc:"Numbers of the attached accounts."`
	CreatedAt    time.Time  `json:"created_at"`
	Status       string     `json:"status" enum:"ready,advancing" doc:"advancing while a job moves the clock to advance_to and runs what falls due; then ready."`
	AdvanceTo    *time.Time `json:"advance_to,omitempty" doc:"Where the advance under way is moving the clock."`
	AdvanceError string     `json:"advance_error,omitempty" doc:"Why the last advance stopped short of its time, if it did."`
}

type testClockOutput struct{ Body TestClock }

// TestClockParam names a test clock in the path.
type TestClockParam struct {
	ID int64 `path:"id" minimum:"1"`
}

type createTestClockInput struct {
	Body struct {
		Name string    `json:"name,omitempty" maxLength:"100"`
		Now  time.Time `json:"now" doc:"Where the clock starts, e.g. 2026-01-31T09:00:00Z."`
	}
}

type attachTestClockInput struct {
	TestClockParam
	Body struct {
		AccountNumber string `json:"account_number" pattern:"^KB-[0-9]{6,}$"`
	}
}

type advanceTestClockInput struct {
	TestClockParam
	Body struct {
		To *time.Time `json:"to,omitempty" doc:"Move the clock to this time."`
		By string     `json:"by,omitempty" maxLength:"20" example:"720h" doc:"Or move it forward by a Go duration (\"72h\") or a number of days (\"30d\")."`
	}
}

type testClocksOutput struct {
	Body struct {
		Items []TestClock `json:"items"`
	}
}

// testMode refuses test clocks outside test mode.
func (s *Server) testMode() error {
	if !s.TestMode {
		return billing.ReasonErrorf(billing.ESTATE, "test_mode_only", "Test clocks exist only in test mode (korebill serve --mode test).")
	}
	return nil
}

func (s *Server) toTestClock(ctx context.Context, c *billing.TestClock) (TestClock, error) {
	out := TestClock{ID: c.ID, Name: c.Name, Now: c.Now, CreatedAt: c.CreatedAt, Accounts: []string{},
		Status: string(c.Status), AdvanceTo: c.AdvanceTo, AdvanceError: c.AdvanceError}
	ids, err := s.TestClocks.TestClockAccounts(ctx, c.ID)
	if err != nil {
		return out, err
	}
	for _, id := range ids {
		a, err := s.Accounts.FindAccountByID(ctx, id)
		if err != nil {
			return out, err
		}
		out.Accounts = append(out.Accounts, a.Number)
	}
	return out, nil
}

// parseBy reads "30d" as 30 days, anything else as a Go duration.
func parseBy(by string) (time.Duration, error) {
	bad := billing.Errorf(billing.EINVALID, "by %q is neither a duration (\"72h\") nor a number of days (\"30d\").", by)
	if n := len(by); n > 1 && by[n-1] == 'd' {
		var days int
		for _, r := range by[:n-1] {
			if r < '0' || r > '9' {
				return 0, bad
			}
			days = days*10 + int(r-'0')
			if days > 5*366 {
				return 0, bad
			}
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(by)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}

func (s *Server) registerTestClocks() {
	tags := []string{"Test clocks"}
	huma.Register(s.api, huma.Operation{
		OperationID: "create-test-clock", Method: http.MethodPost, Path: "/v1/test-clocks",
		Summary: "Create a test clock (operator, test mode)", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "Attach new accounts to it, then advance it: every renewal, invoice, payment and retry that " +
			"falls due on the way runs, in order, as the scheduler would.",
	}, func(ctx context.Context, in *createTestClockInput) (*testClockOutput, error) {
		if err := s.testClockAccess(ctx); err != nil {
			return nil, s.problem(ctx, err)
		}
		c := &billing.TestClock{Name: in.Body.Name, Now: in.Body.Now}
		if err := s.TestClocks.CreateTestClock(ctx, c); err != nil {
			return nil, s.problem(ctx, err)
		}
		out, err := s.toTestClock(ctx, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &testClockOutput{Body: out}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-test-clocks", Method: http.MethodGet, Path: "/v1/test-clocks",
		Summary: "List test clocks (operator, test mode)", Tags: tags,
	}, func(ctx context.Context, _ *struct{}) (*testClocksOutput, error) {
		if err := s.testClockAccess(ctx); err != nil {
			return nil, s.problem(ctx, err)
		}
		clocks, err := s.TestClocks.FindTestClocks(ctx)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &testClocksOutput{}
		out.Body.Items = make([]TestClock, 0, len(clocks))
		for _, c := range clocks {
			tc, err := s.toTestClock(ctx, c)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out.Body.Items = append(out.Body.Items, tc)
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-test-clock", Method: http.MethodGet, Path: "/v1/test-clocks/{id}",
		Summary: "Get a test clock (operator, test mode)", Tags: tags,
	}, func(ctx context.Context, in *TestClockParam) (*testClockOutput, error) {
		if err := s.testClockAccess(ctx); err != nil {
			return nil, s.problem(ctx, err)
		}
		c, err := s.TestClocks.FindTestClock(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out, err := s.toTestClock(ctx, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &testClockOutput{Body: out}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "attach-test-clock", Method: http.MethodPost, Path: "/v1/test-clocks/{id}/accounts",
		Summary: "Attach an account to a test clock (operator, test mode)", Tags: tags,
		Description: "The account reads its time from the clock from now on. Only an account with no invoices can be attached.",
	}, func(ctx context.Context, in *attachTestClockInput) (*testClockOutput, error) {
		if err := s.testClockAccess(ctx); err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.account(ctx, in.Body.AccountNumber, manage)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if err := s.TestClocks.AttachTestClock(ctx, in.ID, a.ID); err != nil {
			return nil, s.problem(ctx, err)
		}
		c, err := s.TestClocks.FindTestClock(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out, err := s.toTestClock(ctx, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &testClockOutput{Body: out}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "advance-test-clock", Method: http.MethodPost, Path: "/v1/test-clocks/{id}/advance",
		Summary: "Advance a test clock (operator, test mode)", Tags: tags, DefaultStatus: http.StatusAccepted,
		Description: "Starts moving the clock forward (at most five years at a time): a job runs everything that falls due " +
			"for its accounts on the way, in order, stopping at every local midnight. Answers 202 at once with the clock " +
			"`advancing`; read it again until it is `ready` (advance_error says why an advance stopped short). " +
			"A clock already advancing is refused (409 test_clock_advancing).",
	}, func(ctx context.Context, in *advanceTestClockInput) (*testClockOutput, error) {
		if err := s.testClockAccess(ctx); err != nil {
			return nil, s.problem(ctx, err)
		}
		c, err := s.TestClocks.FindTestClock(ctx, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		var to time.Time
		switch {
		case in.Body.To != nil && in.Body.By == "":
			to = *in.Body.To
		case in.Body.To == nil && in.Body.By != "":
			by, err := parseBy(in.Body.By)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			to = c.Now.Add(by)
		default:
			return nil, s.problem(ctx, &billing.Error{Code: billing.EINVALID, Message: "Send either to or by.",
				Fields: []billing.FieldError{{Field: "to", Message: "Send either to or by."}}})
		}
		c, err = s.Clocks.AdvanceTestClock(ctx, in.ID, to)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out, err := s.toTestClock(ctx, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &testClockOutput{Body: out}, nil
	})
}

func (s *Server) testClockAccess(ctx context.Context) error {
	if err := requireRole(ctx, billing.RoleOperator); err != nil {
		return err
	}
	if err := s.testMode(); err != nil {
		return err
	}
	if s.TestClocks == nil || s.Clocks == nil {
		return billing.ReasonErrorf(billing.ESTATE, "test_clocks_unavailable", "Test clocks are not configured on this server.")
	}
	return nil
}
