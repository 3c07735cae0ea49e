package duet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRotatingFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), LogFileName)
	r, err := openRotatingFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i < 5*logMaxBackups+2; i++ {
		if _, err := r.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	for _, name := range []string{LogFileName, LogFileName + ".1", LogFileName + ".2", LogFileName + ".3"} {
		st, err := os.Stat(filepath.Join(filepath.Dir(path), name))
		if err != nil || st.Size() > logMaxBytes {
			t.Fatalf("%s: %v size %d", name, err, st.Size())
		}
	}
	if _, err := os.Stat(path + ".4"); err == nil {
		t.Fatal("more than 3 backups kept")
	}
	if _, err := r.Write([]byte("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}
