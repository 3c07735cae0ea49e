-- Version 3: recordings of relayed calls; the call record's serverVideoId.
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE recordings (
	app             TEXT    NOT NULL COLLATE NOCASE,
	id              TEXT    NOT NULL,
	server_video_id TEXT    NOT NULL,
	call_id         TEXT    NOT NULL,
	owner           TEXT    NOT NULL COLLATE NOCASE,
	record_type     TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	detail          TEXT    NOT NULL,
	file            TEXT    NOT NULL,
	begin_at        INTEGER NOT NULL,
	end_at          INTEGER NOT NULL,
	duration_ms     INTEGER NOT NULL,
	size            INTEGER NOT NULL,
	width           INTEGER NOT NULL,
	height          INTEGER NOT NULL,
	expires         INTEGER NOT NULL,
	created         INTEGER NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE INDEX recordings_by_time   ON recordings(app, begin_at, id);
CREATE INDEX recordings_by_video  ON recordings(app, server_video_id, begin_at, id);
CREATE INDEX recordings_by_expiry ON recordings(expires) WHERE expires > 0;
CREATE INDEX recordings_by_status ON recordings(status);
ALTER TABLE calls ADD COLUMN server_video_id TEXT NOT NULL DEFAULT '';
