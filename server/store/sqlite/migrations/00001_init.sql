-- Version 1: apps, users, tokens, calls.
-- Shipped migrations never change: add a new file instead.

-- +goose Up
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
