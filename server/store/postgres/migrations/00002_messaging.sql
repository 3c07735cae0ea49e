-- Version 2: text messages with per-device delivery cursors, push tokens and credentials,
-- webhook endpoints and their outbox (as SQLite's version 2).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
-- last_seq survives the pruning of old messages, so a seq is never reused; AddMessage
-- takes its next value with one UPDATE, whose row lock orders concurrent senders.
CREATE TABLE chat_mailboxes (
	app      citext COLLATE "C" NOT NULL,
	username citext COLLATE "C" NOT NULL,
	last_seq bigint NOT NULL,
	PRIMARY KEY (app, username),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
);

CREATE TABLE chat_messages (
	app           citext COLLATE "C" NOT NULL,
	recipient     citext COLLATE "C" NOT NULL,
	seq           bigint NOT NULL,
	id            text   COLLATE "C" NOT NULL,
	sender        citext COLLATE "C" NOT NULL,
	sender_device text   COLLATE "C" NOT NULL,
	text          text   COLLATE "C" NOT NULL,
	ext           bytea,
	created       bigint NOT NULL,
	PRIMARY KEY (app, recipient, seq),
	FOREIGN KEY (app, recipient) REFERENCES users(app, username) ON DELETE CASCADE
);
CREATE UNIQUE INDEX chat_messages_by_sender_id ON chat_messages(app, sender, id);
CREATE INDEX chat_messages_by_created ON chat_messages(created);

CREATE TABLE chat_cursors (
	app      citext COLLATE "C" NOT NULL,
	username citext COLLATE "C" NOT NULL,
	device   text   COLLATE "C" NOT NULL,
	acked    bigint NOT NULL,
	seen     bigint NOT NULL,
	PRIMARY KEY (app, username, device),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
);

CREATE TABLE push_tokens (
	app      citext  COLLATE "C" NOT NULL,
	username citext  COLLATE "C" NOT NULL,
	device   text    COLLATE "C" NOT NULL,
	provider text    COLLATE "C" NOT NULL,
	voip     boolean NOT NULL,
	token    text    COLLATE "C" NOT NULL,
	topic    text    COLLATE "C" NOT NULL,
	updated  bigint  NOT NULL,
	PRIMARY KEY (app, username, device, provider, voip),
	FOREIGN KEY (app, username) REFERENCES users(app, username) ON DELETE CASCADE
);
CREATE UNIQUE INDEX push_tokens_by_token ON push_tokens(app, provider, token);

CREATE TABLE push_credentials (
	app      citext COLLATE "C" NOT NULL REFERENCES apps(key) ON DELETE CASCADE,
	provider text   COLLATE "C" NOT NULL,
	config   bytea  NOT NULL,
	updated  bigint NOT NULL,
	PRIMARY KEY (app, provider)
);

CREATE TABLE webhook_endpoints (
	app     citext COLLATE "C" NOT NULL REFERENCES apps(key) ON DELETE CASCADE,
	id      text   COLLATE "C" NOT NULL,
	url     text   COLLATE "C" NOT NULL,
	secret  text   COLLATE "C" NOT NULL,
	created bigint NOT NULL,
	updated bigint NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE UNIQUE INDEX webhook_endpoints_by_url ON webhook_endpoints(app, url);

-- An identity never reuses a value, so ids order deliveries across restarts; writers take
-- an advisory lock before they insert, so ids also follow commit order.
CREATE TABLE webhook_outbox (
	id         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	app        citext  COLLATE "C" NOT NULL,
	endpoint   text    COLLATE "C" NOT NULL,
	call_id    text    COLLATE "C" NOT NULL,
	event_id   text    COLLATE "C" NOT NULL,
	event_type text    COLLATE "C" NOT NULL,
	body       bytea   NOT NULL,
	state      integer NOT NULL,
	attempts   integer NOT NULL,
	next_at    bigint  NOT NULL,
	last_error text    COLLATE "C" NOT NULL,
	created    bigint  NOT NULL,
	done_at    bigint  NOT NULL,
	FOREIGN KEY (app, endpoint) REFERENCES webhook_endpoints(app, id) ON DELETE CASCADE
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox(app, endpoint, call_id, id) WHERE state = 0;
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at) WHERE state = 0;
CREATE INDEX webhook_outbox_by_state ON webhook_outbox(app, state, id);
CREATE INDEX webhook_outbox_done ON webhook_outbox(done_at) WHERE state = 1;
