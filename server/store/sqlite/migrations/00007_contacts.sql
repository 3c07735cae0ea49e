-- Version 7: each user's contact list, and the app's presence policy (who sees whose
-- presence; absent: "app", every user of the app).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE contacts (
	app     TEXT    NOT NULL COLLATE NOCASE,
	owner   TEXT    NOT NULL COLLATE NOCASE,
	contact TEXT    NOT NULL COLLATE NOCASE,
	created INTEGER NOT NULL,
	PRIMARY KEY (app, owner, contact),
	FOREIGN KEY (app, owner) REFERENCES users(app, username) ON DELETE CASCADE,
	FOREIGN KEY (app, contact) REFERENCES users(app, username) ON DELETE CASCADE
) WITHOUT ROWID;
-- Who has a user as a contact (the presence policy "contacts", and the cascade).
CREATE INDEX contacts_by_contact ON contacts (app, contact, owner);

CREATE TABLE app_presence (
	app    TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES apps(key) ON DELETE CASCADE,
	policy TEXT NOT NULL
);

-- +goose Down
DROP TABLE app_presence;
DROP TABLE contacts;
