-- Version 4: the durable state of calls in progress (as SQLite's version 4).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
-- One row per live call, written at every step of the call and deleted in the same
-- transaction that writes its record.
CREATE TABLE live_calls (
	app           citext  COLLATE "C" NOT NULL,
	id            text    COLLATE "C" NOT NULL,
	caller        citext  COLLATE "C" NOT NULL,
	caller_device text    COLLATE "C" NOT NULL,
	callee        citext  COLLATE "C" NOT NULL,
	type          integer NOT NULL,
	ext           text    COLLATE "C" NOT NULL,
	record        boolean NOT NULL,
	merge_stream  boolean NOT NULL,
	state         integer NOT NULL,
	answered      text    COLLATE "C" NOT NULL,
	legs          bytea   NOT NULL,
	ice           bytea   NOT NULL,
	invited_at    bigint  NOT NULL,
	ringing_at    bigint  NOT NULL,
	connected_at  bigint  NOT NULL,
	accepted_at   bigint  NOT NULL,
	connect_type  integer NOT NULL,
	ring_deadline bigint  NOT NULL,
	caller_grace  bigint  NOT NULL,
	callee_grace  bigint  NOT NULL,
	events        integer NOT NULL,
	updated       bigint  NOT NULL,
	PRIMARY KEY (app, id)
);
