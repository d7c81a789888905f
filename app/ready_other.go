//go:build !unix

package app

// freeBytes is unknown here: only the error itself says the disk is full.
func freeBytes(string) (uint64, bool) { return 0, false }
