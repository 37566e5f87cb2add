package bench

import (
	"context"
	"time"
)

// HTTPConfig is the load run of `korebill bench --http`.
type HTTPConfig struct {
	Enabled  bool
	Rates    []int         // requests a second, each route at each rate in turn
	Duration time.Duration // of each route at each rate
}

// HTTPResult is one route at one rate.
type HTTPResult struct {
	Route         string
	Rate          int
	Requests      int
	Errors        int
	P50, P99, Max time.Duration
}

func (b *run) httpLoad(ctx context.Context) error { return nil }
