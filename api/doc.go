// Package api serves Kore Billing's REST API under /v1: JSON handlers built
// with huma (OpenAPI 3.1 from the Go types, request validation, RFC 9457
// problem details), API-key authentication, health and metrics endpoints.
//
// Handlers are thin: they authenticate, authorise, translate JSON to domain
// values and call the services billing defines, or the engine for billing
// changes. The package must not import a database driver or the store.
package api
