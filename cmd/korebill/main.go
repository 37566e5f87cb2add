// Command korebill is Kore Billing: the billing engine, its REST API and the
// console, in one binary.
//
//	korebill serve      run the service (SQLite in ./data by default)
//	korebill migrate    apply database migrations and exit
//	korebill keys create  make an API key
//	korebill openapi    print the OpenAPI document
//	korebill version    print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // account time zones must load on machines without a zoneinfo database
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := NewMain()
	m.Stdout, m.Stderr = os.Stdout, os.Stderr
	if err := m.ParseFlags(ctx, os.Args[1:]); errors.Is(err, errUsage) {
		os.Exit(2)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "korebill:", err)
		os.Exit(2)
	}
	err := m.Run(ctx)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "korebill:", err)
		os.Exit(1)
	}
}
