-- Version 2: text messages with per-device delivery cursors, push tokens and credentials, webhook endpoints and their outbox.
-- Shipped migrations never change: add a new file instead.

-- +goose Up
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
