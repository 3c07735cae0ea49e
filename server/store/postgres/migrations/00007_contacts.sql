-- Version 7: each user's contact list, and the app's presence policy (as SQLite's version 7).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE contacts (
	app     citext COLLATE "C" NOT NULL,
	owner   citext COLLATE "C" NOT NULL,
	contact citext COLLATE "C" NOT NULL,
	created bigint NOT NULL,
	PRIMARY KEY (app, owner, contact),
	FOREIGN KEY (app, owner) REFERENCES users(app, username) ON DELETE CASCADE,
	FOREIGN KEY (app, contact) REFERENCES users(app, username) ON DELETE CASCADE
);
CREATE INDEX contacts_by_contact ON contacts (app, contact, owner);

CREATE TABLE app_presence (
	app    citext COLLATE "C" NOT NULL PRIMARY KEY REFERENCES apps(key) ON DELETE CASCADE,
	policy text   COLLATE "C" NOT NULL
);

-- +goose Down
DROP TABLE app_presence;
DROP TABLE contacts;
