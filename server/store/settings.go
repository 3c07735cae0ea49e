package store

import "context"

// SettingStore keeps the few values every node of a cluster must share, such as the admin
// token and the TURN secret, so that they come from the store rather than from each node's
// data folder.
type SettingStore interface {
	// Setting returns the value stored under name. When there is none it stores initial and
	// returns it; of several callers racing to set it, one wins and all get its value.
	Setting(ctx context.Context, name, initial string) (string, error)
}
