package store

import (
	"fmt"
	"time"
)

// Timestamps are stored in UTC with microsecond precision, PostgreSQL's, so
// that a time reads back identical from either engine. SQLite keeps them as
// text with a fixed nine-digit fraction, which sorts as it compares.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// normTime is t as the store keeps it: UTC, whole microseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// now is the clock's time as the store keeps it, read once per transaction.
func (db *DB) now() time.Time { return normTime(db.clock.Now()) }

// timeArg returns t as a query argument for the engine's timestamp column.
func (db *DB) timeArg(t time.Time) any {
	t = normTime(t)
	if db.dialect == DialectSQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// nullTimeArg is timeArg for a nullable column.
func (db *DB) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.timeArg(*t)
}

// timeScanner scans a timestamp column: pgx returns time.Time, SQLite the
// text timeArg wrote.
type timeScanner struct{ dst *time.Time }

func scanTime(dst *time.Time) timeScanner { return timeScanner{dst} }

func (s timeScanner) Scan(src any) error {
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("scan time: unexpected NULL")
	}
	*s.dst = *t
	return nil
}

// nullTimeScanner scans a nullable timestamp column into a *time.Time.
type nullTimeScanner struct{ dst **time.Time }

func scanNullTime(dst **time.Time) nullTimeScanner { return nullTimeScanner{dst} }

func (s nullTimeScanner) Scan(src any) error {
	t, err := parseTime(src)
	if err != nil {
		return err
	}
	*s.dst = t
	return nil
}

func parseTime(src any) (*time.Time, error) {
	var t time.Time
	switch v := src.(type) {
	case nil:
		return nil, nil
	case time.Time:
		t = v
	case string:
		p, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, fmt.Errorf("scan time %q: %w", v, err)
		}
		t = p
	case []byte:
		p, err := time.Parse(time.RFC3339Nano, string(v))
		if err != nil {
			return nil, fmt.Errorf("scan time %q: %w", v, err)
		}
		t = p
	default:
		return nil, fmt.Errorf("scan time: unsupported type %T", src)
	}
	t = t.UTC()
	return &t, nil
}
