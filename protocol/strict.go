package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// checkWellFormed refuses what encoding/json would quietly accept or repair: bytes that are
// not UTF-8 (it replaces them with U+FFFD), an object with a key twice (it keeps the last),
// and anything after the first value (a stray '}' or ']' included). Unknown fields are not
// its business: they are ignored ("Compatibility" in docs/PROTOCOL.md).
func checkWellFormed(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var w walker
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := w.step(tok); err != nil {
			return err
		}
	}
}

// walker follows the tokens of one JSON value, remembering the keys of each open object.
type walker struct {
	open   []level
	values int // complete top-level values
}

// level is one open object (keys set) or array (keys nil).
type level struct {
	keys    map[string]struct{}
	wantKey bool
}

func (w *walker) step(tok json.Token) error {
	if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
		w.open = w.open[:len(w.open)-1]
		return w.valueDone()
	}
	if n := len(w.open); n > 0 && w.open[n-1].wantKey {
		k, _ := tok.(string) // the decoder only gives strings as keys
		if _, dup := w.open[n-1].keys[k]; dup {
			return fmt.Errorf("duplicate key %q", k)
		}
		w.open[n-1].keys[k] = struct{}{}
		w.open[n-1].wantKey = false
		return nil
	}
	if len(w.open) == 0 && w.values > 0 {
		return errors.New("trailing data after the value")
	}
	if d, ok := tok.(json.Delim); ok {
		l := level{}
		if d == '{' {
			l = level{keys: map[string]struct{}{}, wantKey: true}
		}
		w.open = append(w.open, l)
		return nil
	}
	return w.valueDone()
}

// valueDone notes that a value ended: an object's next token is a key again.
func (w *walker) valueDone() error {
	if n := len(w.open); n > 0 {
		if w.open[n-1].keys != nil {
			w.open[n-1].wantKey = true
		}
		return nil
	}
	w.values++
	return nil
}
