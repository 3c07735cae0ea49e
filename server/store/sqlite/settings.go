package sqlite

import (
	"context"
	"fmt"
)

// Setting implements store.SettingStore.
func (s *Store) Setting(ctx context.Context, name, initial string) (string, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`,
		name, initial); err != nil {
		return "", fmt.Errorf("sqlite: setting: %w", err)
	}
	var v string
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("sqlite: setting: %w", err)
	}
	return v, nil
}
