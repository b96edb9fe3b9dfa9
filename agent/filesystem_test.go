package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolvePath(t *testing.T) {
	cases := map[string]string{
		"/etc/hosts": "/etc/hosts",
		"a/b.txt":    "/home/user/a/b.txt",
		"~":          "/home/user",
		"~/x":        "/home/user/x",
		"./x/../y":   "/home/user/y",
		"/a//b/":     "/a/b",
	}
	for in, want := range cases {
		got, err := resolvePath(in, "/home/user")
		if err != nil || got != want {
			t.Errorf("resolvePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := resolvePath("", "/home/user"); err == nil {
		t.Error("an empty path must be refused")
	}
}

func TestListDirPreOrderLexical(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"b/z", "b/a/deep", "a"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"c.txt", "b/m.txt", "b/a/f.txt", "b/a/deep/g.txt"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := func(depth int) []string {
		es, err := listDir(root, depth)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, e := range es {
			rel, _ := filepath.Rel(root, e.Path)
			out = append(out, rel)
		}
		return out
	}
	if got, want := names(1), []string{"a", "b", "c.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("depth 1: %v, want %v", got, want)
	}
	if got, want := names(2), []string{"a", "b", "b/a", "b/m.txt", "b/z", "c.txt"}; !reflect.DeepEqual(got, want) {
		t.Errorf("depth 2: %v, want %v", got, want)
	}
	want3 := []string{"a", "b", "b/a", "b/a/deep", "b/a/f.txt", "b/m.txt", "b/z", "c.txt"}
	if got := names(3); !reflect.DeepEqual(got, want3) {
		t.Errorf("depth 3: %v, want %v", got, want3)
	}
	if got := names(0); !reflect.DeepEqual(got, []string{"a", "b", "c.txt"}) {
		t.Errorf("depth 0 counts as 1: %v", got)
	}
	if _, err := listDir(filepath.Join(root, "missing"), 1); asRPCError(err).Code != "not_found" {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := listDir(filepath.Join(root, "c.txt"), 1); asRPCError(err).Code != "invalid_argument" {
		t.Errorf("a file: %v", err)
	}
}

func TestEntryInfoShape(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "f.txt")
	if err := os.WriteFile(f, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(f, 0o644)
	if err := os.Symlink(f, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	e, err := statEntry(f)
	if err != nil {
		t.Fatal(err)
	}
	if e.Type != "FILE_TYPE_FILE" || e.Size != "5" || e.Mode != 0o644 || e.Permissions != "-rw-r--r--" || e.Name != "f.txt" {
		t.Errorf("file entry %+v", e)
	}
	d, _ := statEntry(root)
	if d.Type != "FILE_TYPE_DIRECTORY" || d.Permissions[0] != 'd' {
		t.Errorf("dir entry %+v", d)
	}
	l, _ := statEntry(filepath.Join(root, "link"))
	if l.Type != "FILE_TYPE_SYMLINK" || l.SymlinkTarget == nil || *l.SymlinkTarget != f {
		t.Errorf("symlink entry %+v", l)
	}
}
