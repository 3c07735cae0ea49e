package yuv

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
)

// Save writes img to path as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg). The
// file appears complete or not at all: it is written beside path and renamed into place.
func Save(path string, img image.Image) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
		return fmt.Errorf("yuv: %s: the extension must be .png, .jpg or .jpeg", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*"+ext)
	if err != nil {
		return fmt.Errorf("yuv: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if ext == ".png" {
		// Snapshots are taken while a call runs: favour speed over a few percent of size.
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		err = enc.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("yuv: encode %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("yuv: %w", err)
	}
	return nil
}
