package mysql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

// migrations holds the SQL that creates the adapter's tables, one file per
// step, applied in name order. Each statement is idempotent.
//
//go:embed migrations/*.sql
var migrations embed.FS

// MigrationFiles lists the migration files (migrations/*.sql in this
// package's directory), for operators who apply them with their own tools.
func MigrationFiles() []string {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return names
}

// Migrate creates the adapter's tables (arbiter_outcomes, arbiter_meta) in
// db's current database if they do not exist, by running every migration
// file. It is a deployment step, run before Open; Open only checks the
// tables and never creates them. Run it while no participant of the
// database holds prepared work: DDL waits behind prepared branches' locks.
func Migrate(ctx context.Context, db *sql.DB) error {
	for _, name := range MigrationFiles() {
		b, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		for _, stmt := range statements(string(b)) {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("mysql: migration %s: %w", name, err)
			}
		}
	}
	return nil
}

// statements splits a migration file at ';' ending a line, dropping
// comment lines.
func statements(file string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(file, "\n") {
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	return out
}
