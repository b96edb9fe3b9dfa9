package main

// File metadata (E2B's X-Metadata-* headers) kept as user.e2b.<key> extended attributes, on
// filesystems that support them; elsewhere it is silently absent, as E2B's envd does.

import (
	"strings"
	"syscall"
)

const xattrPrefix = "user.e2b."

func readMetadata(path string) map[string]string {
	buf := make([]byte, 4096)
	n, err := syscall.Listxattr(path, buf)
	if err != nil || n <= 0 {
		return nil
	}
	var out map[string]string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if !strings.HasPrefix(name, xattrPrefix) {
			continue
		}
		val := make([]byte, 4096)
		m, err := syscall.Getxattr(path, name, val)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimPrefix(name, xattrPrefix)] = string(val[:m])
	}
	return out
}

// replaceMetadata drops the file's user.e2b.* attributes and sets md; it reports what it stored
// (nil when the filesystem has no user xattrs).
func replaceMetadata(path string, md map[string]string) map[string]string {
	for k := range readMetadata(path) {
		_ = syscall.Removexattr(path, xattrPrefix+k)
	}
	var out map[string]string
	for k, v := range md {
		if err := syscall.Setxattr(path, xattrPrefix+k, []byte(v), 0); err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}
