-- Version 4: the durable state of calls in progress.
-- Shipped migrations never change: add a new file instead.

-- +goose Up
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
