-- Version 8: the per-party quality summary of each ended call, kept once it is final, so
-- that reading call records does not sum timelines up again after a restart or on another
-- node. Shipped migrations never change: add a new file instead.

-- +goose Up
CREATE TABLE call_quality_summary (
	app      citext COLLATE "C" NOT NULL,
	call_id  TEXT NOT NULL,
	ended_at BIGINT NOT NULL,
	data     BYTEA NOT NULL,
	PRIMARY KEY (app, call_id)
);
CREATE INDEX call_quality_summary_ended ON call_quality_summary (ended_at);

-- +goose Down
DROP TABLE call_quality_summary;
