package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migrations is the schema history. Entry i brings the schema to version i+1. Entries are
// append-only: never edit one that has shipped, add a new one instead.
var migrations = []string{
	// 1: apps, users, tokens, calls.
	`
CREATE TABLE apps (
	key           TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
	org           TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	client_id     TEXT    NOT NULL UNIQUE,
	client_secret TEXT    NOT NULL,
	registration  TEXT    NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE users (
	app           TEXT    NOT NULL COLLATE NOCASE REFERENCES apps(key) ON DELETE CASCADE,
	username      TEXT    NOT NULL COLLATE NOCASE,
	uuid          TEXT    NOT NULL UNIQUE,
	nickname      TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	activated     INTEGER NOT NULL,
	created       INTEGER NOT NULL,
	modified      INTEGER NOT NULL,
	PRIMARY KEY (app, username)
) WITHOUT ROWID;

-- App tokens have username NULL, which exempts them from the foreign key; a user's tokens
-- go with the user.
CREATE TABLE tokens (
	hash     TEXT    NOT NULL PRIMARY KEY,
	app      TEXT    NOT NULL COLLATE NOCASE REFERENCES apps(key) ON DELETE CASCADE,
	kind     TEXT    NOT NULL,
	username TEXT    COLLATE NOCASE,
	created  INTEGER NOT NULL,
	expires  INTEGER NOT NULL,
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens(app, username);
CREATE INDEX tokens_by_expiry ON tokens(expires) WHERE expires > 0;

-- No foreign key to apps: SaveCalls is the hot path and the call flow only records calls of
-- authenticated users.
CREATE TABLE calls (
	app           TEXT    NOT NULL COLLATE NOCASE,
	id            TEXT    NOT NULL,
	caller        TEXT    NOT NULL COLLATE NOCASE,
	caller_device TEXT    NOT NULL,
	callee        TEXT    NOT NULL COLLATE NOCASE,
	callee_device TEXT    NOT NULL,
	type          INTEGER NOT NULL,
	ext           TEXT    NOT NULL,
	record        INTEGER NOT NULL,
	merge_stream  INTEGER NOT NULL,
	invited_at    INTEGER NOT NULL,
	ringing_at    INTEGER NOT NULL,
	connected_at  INTEGER NOT NULL,
	accepted_at   INTEGER NOT NULL,
	ended_at      INTEGER NOT NULL,
	end_reason    INTEGER NOT NULL,
	ended_by      TEXT    NOT NULL,
	connect_type  INTEGER NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE INDEX calls_by_time   ON calls(app, invited_at, id);
CREATE INDEX calls_by_caller ON calls(app, caller, invited_at, id);
CREATE INDEX calls_by_callee ON calls(app, callee, invited_at, id);
`,
	// 2: text messages with per-device delivery cursors, push tokens and credentials,
	// webhook endpoints and their outbox.
	`
-- last_seq survives the pruning of old messages, so a seq is never reused.
CREATE TABLE chat_mailboxes (
	app      TEXT    NOT NULL COLLATE NOCASE,
	username TEXT    NOT NULL COLLATE NOCASE,
	last_seq INTEGER NOT NULL,
	PRIMARY KEY (app, username),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE chat_messages (
	app           TEXT    NOT NULL COLLATE NOCASE,
	recipient     TEXT    NOT NULL COLLATE NOCASE,
	seq           INTEGER NOT NULL,
	id            TEXT    NOT NULL,
	sender        TEXT    NOT NULL COLLATE NOCASE,
	sender_device TEXT    NOT NULL,
	text          TEXT    NOT NULL,
	ext           BLOB,
	created       INTEGER NOT NULL,
	PRIMARY KEY (app, recipient, seq),
	FOREIGN KEY (app, recipient) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE UNIQUE INDEX chat_messages_by_sender_id ON chat_messages(app, sender, id);
CREATE INDEX chat_messages_by_created ON chat_messages(created);

CREATE TABLE chat_cursors (
	app      TEXT    NOT NULL COLLATE NOCASE,
	username TEXT    NOT NULL COLLATE NOCASE,
	device   TEXT    NOT NULL,
	acked    INTEGER NOT NULL,
	seen     INTEGER NOT NULL,
	PRIMARY KEY (app, username, device),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE push_tokens (
	app      TEXT    NOT NULL COLLATE NOCASE,
	username TEXT    NOT NULL COLLATE NOCASE,
	device   TEXT    NOT NULL,
	provider TEXT    NOT NULL,
	voip     INTEGER NOT NULL,
	token    TEXT    NOT NULL,
	topic    TEXT    NOT NULL,
	updated  INTEGER NOT NULL,
	PRIMARY KEY (app, username, device, provider, voip),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE UNIQUE INDEX push_tokens_by_token ON push_tokens(app, provider, token);

CREATE TABLE push_credentials (
	app      TEXT    NOT NULL COLLATE NOCASE REFERENCES apps(key) ON DELETE CASCADE,
	provider TEXT    NOT NULL,
	config   BLOB    NOT NULL,
	updated  INTEGER NOT NULL,
	PRIMARY KEY (app, provider)
) WITHOUT ROWID;

CREATE TABLE webhook_endpoints (
	app     TEXT    NOT NULL COLLATE NOCASE REFERENCES apps(key) ON DELETE CASCADE,
	id      TEXT    NOT NULL,
	url     TEXT    NOT NULL,
	secret  TEXT    NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (app, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX webhook_endpoints_by_url ON webhook_endpoints(app, url);

-- AUTOINCREMENT: ids are never reused, so they order deliveries across restarts.
CREATE TABLE webhook_outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	app        TEXT    NOT NULL COLLATE NOCASE,
	endpoint   TEXT    NOT NULL,
	call_id    TEXT    NOT NULL,
	event_id   TEXT    NOT NULL,
	event_type TEXT    NOT NULL,
	body       BLOB    NOT NULL,
	state      INTEGER NOT NULL,
	attempts   INTEGER NOT NULL,
	next_at    INTEGER NOT NULL,
	last_error TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	done_at    INTEGER NOT NULL,
	FOREIGN KEY (app, endpoint) REFERENCES webhook_endpoints(app, id) ON DELETE CASCADE
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox(app, endpoint, call_id, id) WHERE state = 0;
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at) WHERE state = 0;
CREATE INDEX webhook_outbox_by_state ON webhook_outbox(app, state, id);
CREATE INDEX webhook_outbox_done ON webhook_outbox(done_at) WHERE state = 1;
`,
	// 3: recordings of relayed calls; the call record's serverVideoId.
	`
CREATE TABLE recordings (
	app             TEXT    NOT NULL COLLATE NOCASE,
	id              TEXT    NOT NULL,
	server_video_id TEXT    NOT NULL,
	call_id         TEXT    NOT NULL,
	owner           TEXT    NOT NULL COLLATE NOCASE,
	record_type     TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	detail          TEXT    NOT NULL,
	file            TEXT    NOT NULL,
	begin_at        INTEGER NOT NULL,
	end_at          INTEGER NOT NULL,
	duration_ms     INTEGER NOT NULL,
	size            INTEGER NOT NULL,
	width           INTEGER NOT NULL,
	height          INTEGER NOT NULL,
	expires         INTEGER NOT NULL,
	created         INTEGER NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE INDEX recordings_by_time   ON recordings(app, begin_at, id);
CREATE INDEX recordings_by_video  ON recordings(app, server_video_id, begin_at, id);
CREATE INDEX recordings_by_expiry ON recordings(expires) WHERE expires > 0;
CREATE INDEX recordings_by_status ON recordings(status);
ALTER TABLE calls ADD COLUMN server_video_id TEXT NOT NULL DEFAULT '';
`,
	// 4: the durable state of calls in progress.
	`
-- One row per live call, written at every step of the call and deleted in the same
-- transaction that writes its record.
CREATE TABLE live_calls (
	app           TEXT    NOT NULL COLLATE NOCASE,
	id            TEXT    NOT NULL,
	caller        TEXT    NOT NULL COLLATE NOCASE,
	caller_device TEXT    NOT NULL,
	callee        TEXT    NOT NULL COLLATE NOCASE,
	type          INTEGER NOT NULL,
	ext           TEXT    NOT NULL,
	record        INTEGER NOT NULL,
	merge_stream  INTEGER NOT NULL,
	state         INTEGER NOT NULL,
	answered      TEXT    NOT NULL,
	legs          BLOB    NOT NULL,
	ice           BLOB    NOT NULL,
	invited_at    INTEGER NOT NULL,
	ringing_at    INTEGER NOT NULL,
	connected_at  INTEGER NOT NULL,
	accepted_at   INTEGER NOT NULL,
	connect_type  INTEGER NOT NULL,
	ring_deadline INTEGER NOT NULL,
	caller_grace  INTEGER NOT NULL,
	callee_grace  INTEGER NOT NULL,
	events        INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	PRIMARY KEY (app, id)
);
`,
}

// migrate applies the migrations the database has not seen yet, each in its own
// transaction together with its row in schema_migrations, so a crash mid-way leaves a
// consistent version and the next Open carries on. It refuses a database written by a newer
// build.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		return err
	}
	for v := 1; v <= len(migrations); v++ {
		if err := applyMigration(ctx, db, v); err != nil {
			return fmt.Errorf("version %d: %w", v, err)
		}
	}
	var newest int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return err
	}
	if newest > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this build's %d", newest, len(migrations))
	}
	return nil
}

// applyMigration applies migration v unless it already is. The check runs inside the write
// transaction, so two processes opening the same new database do not both apply it.
func applyMigration(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(version, applied) VALUES (?, ?)`, v, time.Now().UnixMilli()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return err
	}
	return tx.Commit()
}
