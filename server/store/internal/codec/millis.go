package codec

import "time"

// Millis converts a time to unix milliseconds, the zero time to 0: the stores keep times
// as integers so that they compare, index and page the same way in SQLite and PostgreSQL.
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// Time is the inverse of Millis. Times come back in UTC.
func Time(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
