package store

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/kore-billing/korebill/billing"
)

// Backup writes a consistent copy of a SQLite database to path while it is
// in use: VACUUM INTO reads one snapshot (WAL mode lets writers go on) and
// writes a compact database file that opens as it is. The file must not
// exist. PostgreSQL is backed up with its own tools (pg_dump; see
// docs/reliability.md): Backup refuses it.
func (db *DB) Backup(ctx context.Context, path string) error {
	if db.dialect != DialectSQLite {
		return billing.ReasonErrorf(billing.ESTATE, "backup_postgres",
			"A PostgreSQL database is backed up with pg_dump (docs/reliability.md), not korebill backup.")
	}
	if _, err := os.Stat(path); err == nil {
		return billing.ReasonErrorf(billing.ECONFLICT, "backup_exists", "%s exists; a backup never overwrites a file.", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}
