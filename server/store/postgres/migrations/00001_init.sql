-- Version 1: apps, users, tokens, calls (as SQLite's version 1).
-- Shipped migrations never change: add a new file instead.
--
-- Types: app keys and usernames are citext COLLATE "C": kept as given, compared
-- case-insensitively and sorted by their lower-cased bytes, in primary and foreign keys
-- alike, as SQLite's COLLATE NOCASE does. (citext lower-cases with the database's locale,
-- so it also folds non-ASCII letters where NOCASE folds A-Z only; duet's app keys and
-- usernames are ASCII, so the two agree on every name duet accepts.) Every other text is
-- COLLATE "C", byte order as SQLite's BINARY, whatever the database's locale. Times are
-- unix milliseconds (0 for none) as in SQLite, so both stores share cursor formats.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE apps (
	key           citext COLLATE "C" NOT NULL PRIMARY KEY,
	org           text   COLLATE "C" NOT NULL,
	name          text   COLLATE "C" NOT NULL,
	client_id     text   COLLATE "C" NOT NULL UNIQUE,
	client_secret text   COLLATE "C" NOT NULL,
	registration  text   COLLATE "C" NOT NULL,
	created       bigint NOT NULL
);

CREATE TABLE users (
	app           citext  COLLATE "C" NOT NULL REFERENCES apps(key) ON DELETE CASCADE,
	username      citext  COLLATE "C" NOT NULL,
	uuid          text    COLLATE "C" NOT NULL UNIQUE,
	nickname      text    COLLATE "C" NOT NULL,
	password_hash text    COLLATE "C" NOT NULL,
	activated     boolean NOT NULL,
	created       bigint  NOT NULL,
	modified      bigint  NOT NULL,
	PRIMARY KEY (app, username)
);

-- App tokens have username NULL, which exempts them from the foreign key (MATCH SIMPLE); a
-- user's tokens go with the user.
CREATE TABLE tokens (
	hash     text   COLLATE "C" NOT NULL PRIMARY KEY,
	app      citext COLLATE "C" NOT NULL REFERENCES apps(key) ON DELETE CASCADE,
	kind     text   COLLATE "C" NOT NULL,
	username citext COLLATE "C",
	created  bigint NOT NULL,
	expires  bigint NOT NULL,
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
);
CREATE INDEX tokens_by_user ON tokens(app, username);
CREATE INDEX tokens_by_expiry ON tokens(expires) WHERE expires > 0;

-- No foreign key to apps: SaveCalls is the hot path and the call flow only records calls of
-- authenticated users.
CREATE TABLE calls (
	app           citext  COLLATE "C" NOT NULL,
	id            text    COLLATE "C" NOT NULL,
	caller        citext  COLLATE "C" NOT NULL,
	caller_device text    COLLATE "C" NOT NULL,
	callee        citext  COLLATE "C" NOT NULL,
	callee_device text    COLLATE "C" NOT NULL,
	type          integer NOT NULL,
	ext           text    COLLATE "C" NOT NULL,
	record        boolean NOT NULL,
	merge_stream  boolean NOT NULL,
	invited_at    bigint  NOT NULL,
	ringing_at    bigint  NOT NULL,
	connected_at  bigint  NOT NULL,
	accepted_at   bigint  NOT NULL,
	ended_at      bigint  NOT NULL,
	end_reason    integer NOT NULL,
	ended_by      text    COLLATE "C" NOT NULL,
	connect_type  integer NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE INDEX calls_by_time   ON calls(app, invited_at, id);
CREATE INDEX calls_by_caller ON calls(app, caller, invited_at, id);
CREATE INDEX calls_by_callee ON calls(app, callee, invited_at, id);
