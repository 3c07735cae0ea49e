-- Version 3: recordings of relayed calls; the call record's serverVideoId (as SQLite's
-- version 3).
-- Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE recordings (
	app             citext  COLLATE "C" NOT NULL,
	id              text    COLLATE "C" NOT NULL,
	server_video_id text    COLLATE "C" NOT NULL,
	call_id         text    COLLATE "C" NOT NULL,
	owner           citext  COLLATE "C" NOT NULL,
	record_type     text    COLLATE "C" NOT NULL,
	status          text    COLLATE "C" NOT NULL,
	detail          text    COLLATE "C" NOT NULL,
	file            text    COLLATE "C" NOT NULL,
	begin_at        bigint  NOT NULL,
	end_at          bigint  NOT NULL,
	duration_ms     bigint  NOT NULL,
	size            bigint  NOT NULL,
	width           integer NOT NULL,
	height          integer NOT NULL,
	expires         bigint  NOT NULL,
	created         bigint  NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE INDEX recordings_by_time   ON recordings(app, begin_at, id);
CREATE INDEX recordings_by_video  ON recordings(app, server_video_id, begin_at, id);
CREATE INDEX recordings_by_expiry ON recordings(expires) WHERE expires > 0;
CREATE INDEX recordings_by_status ON recordings(status);
ALTER TABLE calls ADD COLUMN server_video_id text COLLATE "C" NOT NULL DEFAULT '';
