package postgres

import (
	"context"
	"fmt"
)

// Setting implements store.SettingStore. One statement inserts or reads, so nodes that
// start together agree on one value.
func (s *Store) Setting(ctx context.Context, name, initial string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO settings(name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
		)
		SELECT value FROM ins UNION ALL SELECT value FROM settings WHERE name = $1 LIMIT 1`, name, initial).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("postgres: setting: %w", err)
	}
	return v, nil
}
