//go:build unix

package main

import "syscall"

// privateUmask makes every file the server (and ffmpeg under it) creates private to its
// user; the server also fixes the modes of what it finds in its data folder at start.
func privateUmask() { syscall.Umask(0o077) }
