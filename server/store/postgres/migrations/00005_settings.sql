-- Version 5: values shared by every node of a cluster (the admin token, the TURN secret).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE settings (
	name  TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
