-- Version 6: the quality samples devices report during calls (call.quality).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE call_quality (
	id BIGSERIAL PRIMARY KEY,
	app      citext COLLATE "C" NOT NULL,
	call_id  TEXT NOT NULL,
	username TEXT NOT NULL,
	device   TEXT NOT NULL,
	at       BIGINT NOT NULL,
	data     BYTEA NOT NULL
);
CREATE INDEX call_quality_call ON call_quality (app, call_id, at, id);
CREATE INDEX call_quality_at ON call_quality (at);

-- +goose Down
DROP TABLE call_quality;
