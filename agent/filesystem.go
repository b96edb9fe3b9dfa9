package main

// filesystem.Filesystem unary methods and the EntryInfo shape they share.

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type entryInfo struct {
	Name          string            `json:"name"`
	Type          string            `json:"type"`
	Path          string            `json:"path"`
	Size          string            `json:"size"`
	Mode          uint32            `json:"mode"`
	Permissions   string            `json:"permissions"`
	Owner         string            `json:"owner"`
	Group         string            `json:"group"`
	ModifiedTime  string            `json:"modifiedTime"`
	SymlinkTarget *string           `json:"symlinkTarget,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

var idNames sync.Map // "u123"/"g123" -> name

func ownerName(uid uint32) string {
	k := "u" + strconv.Itoa(int(uid))
	if v, ok := idNames.Load(k); ok {
		return v.(string)
	}
	name := strconv.Itoa(int(uid))
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	idNames.Store(k, name)
	return name
}

func groupName(gid uint32) string {
	k := "g" + strconv.Itoa(int(gid))
	if v, ok := idNames.Load(k); ok {
		return v.(string)
	}
	name := strconv.Itoa(int(gid))
	if g, err := user.LookupGroupId(name); err == nil {
		name = g.Name
	}
	idNames.Store(k, name)
	return name
}

// fsError maps an OS error on path to a Connect error.
func fsError(err error, path string) error {
	var re *rpcError
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, fs.ErrNotExist):
		return errorf("not_found", "%s does not exist", path)
	case errors.Is(err, fs.ErrExist):
		return errorf("already_exists", "%s already exists", path)
	case errors.Is(err, fs.ErrPermission):
		return errorf("permission_denied", "%s: permission denied", path)
	case errors.Is(err, syscall.ENOTDIR):
		return errorf("invalid_argument", "%s: not a directory", path)
	}
	return errorf("internal", "%s: %v", path, err)
}

// statEntry describes path as EntryInfo without following a final symlink (its target goes
// into symlinkTarget, resolved to an absolute path).
func statEntry(path string) (*entryInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fsError(err, path)
	}
	return entryFrom(path, fi), nil
}

func entryFrom(path string, fi fs.FileInfo) *entryInfo {
	e := &entryInfo{
		Name:         fi.Name(),
		Path:         path,
		Size:         strconv.FormatInt(fi.Size(), 10),
		Mode:         uint32(fi.Mode().Perm()),
		Permissions:  fi.Mode().Perm().String(),
		ModifiedTime: fi.ModTime().UTC().Format(time.RFC3339Nano),
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		e.Type = "FILE_TYPE_SYMLINK"
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			if t, rerr := os.Readlink(path); rerr == nil {
				target = t
				if !filepath.IsAbs(t) {
					target = filepath.Join(filepath.Dir(path), t)
				}
			}
		}
		e.SymlinkTarget = &target
	case fi.IsDir():
		e.Type = "FILE_TYPE_DIRECTORY"
	case fi.Mode().IsRegular():
		e.Type = "FILE_TYPE_FILE"
	default:
		e.Type = "FILE_TYPE_UNSPECIFIED"
	}
	e.Permissions = permString(fi.Mode())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.Owner = ownerName(st.Uid)
		e.Group = groupName(st.Gid)
	}
	e.Metadata = readMetadata(path)
	return e
}

// permString renders "-rw-r--r--" / "drwxr-xr-x" / "lrwxrwxrwx" like ls.
func permString(m fs.FileMode) string {
	kind := "-"
	switch {
	case m&fs.ModeSymlink != 0:
		kind = "l"
	case m.IsDir():
		kind = "d"
	}
	return kind + strings.TrimPrefix(m.Perm().String(), "-")
}

// listDir walks dir pre-order in lexical order, up to depth levels (1 = direct children),
// without descending into symlinked directories.
func listDir(dir string, depth int) ([]*entryInfo, error) {
	if depth < 1 {
		depth = 1
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fsError(err, dir)
	}
	if !fi.IsDir() {
		return nil, errorf("invalid_argument", "%s is not a directory", dir)
	}
	out := []*entryInfo{}
	var walk func(d string, level int) error
	walk = func(d string, level int) error {
		names, err := readNames(d)
		if err != nil {
			if level > 1 {
				return nil // an unreadable subdirectory: list what can be listed
			}
			return fsError(err, d)
		}
		for _, n := range names {
			p := filepath.Join(d, n)
			fi, err := os.Lstat(p)
			if err != nil {
				continue // vanished meanwhile
			}
			out = append(out, entryFrom(p, fi))
			if fi.IsDir() && level < depth {
				if err := walk(p, level+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(dir, 1); err != nil {
		return nil, err
	}
	return out, nil
}

func readNames(d string) ([]string, error) {
	f, err := os.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

type pathRequest struct {
	Path  string `json:"path"`
	Depth uint32 `json:"depth"`
}

type entryResponse struct {
	Entry *entryInfo `json:"entry"`
}

type moveRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

func (a *agent) resolveFor(r *http.Request, p string) (string, *account, error) {
	acc, err := a.callerAccount(r)
	if err != nil {
		return "", nil, err
	}
	abs, err := resolvePath(p, acc.Home)
	return abs, acc, err
}

func (a *agent) fsStat(r *http.Request, req *pathRequest) (*entryResponse, error) {
	p, _, err := a.resolveFor(r, req.Path)
	if err != nil {
		return nil, err
	}
	e, err := statEntry(p)
	if err != nil {
		return nil, err
	}
	return &entryResponse{Entry: e}, nil
}

func (a *agent) fsListDir(r *http.Request, req *pathRequest) (*struct {
	Entries []*entryInfo `json:"entries"`
}, error) {
	p, _, err := a.resolveFor(r, req.Path)
	if err != nil {
		return nil, err
	}
	entries, err := listDir(p, int(req.Depth))
	if err != nil {
		return nil, err
	}
	return &struct {
		Entries []*entryInfo `json:"entries"`
	}{entries}, nil
}

func (a *agent) fsMakeDir(r *http.Request, req *pathRequest) (*entryResponse, error) {
	p, acc, err := a.resolveFor(r, req.Path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil {
		if fi.IsDir() {
			return nil, errorf("already_exists", "directory %s already exists", p)
		}
		return nil, errorf("invalid_argument", "%s exists and is not a directory", p)
	}
	if err := mkdirAllOwned(p, acc); err != nil {
		return nil, err
	}
	e, err := statEntry(p)
	if err != nil {
		return nil, err
	}
	return &entryResponse{Entry: e}, nil
}

func (a *agent) fsMove(r *http.Request, req *moveRequest) (*entryResponse, error) {
	src, acc, err := a.resolveFor(r, req.Source)
	if err != nil {
		return nil, err
	}
	dst, err := resolvePath(req.Destination, acc.Home)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(src); err != nil {
		return nil, fsError(err, src)
	}
	if err := mkdirAllOwned(filepath.Dir(dst), acc); err != nil {
		return nil, err
	}
	if err := os.Rename(src, dst); err != nil {
		return nil, fsError(err, dst)
	}
	e, err := statEntry(dst)
	if err != nil {
		return nil, err
	}
	return &entryResponse{Entry: e}, nil
}

func (a *agent) fsRemove(r *http.Request, req *pathRequest) (*struct{}, error) {
	p, _, err := a.resolveFor(r, req.Path)
	if err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, errorf("invalid_argument", "refusing to remove /")
	}
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fsError(err, p)
	}
	return &struct{}{}, nil
}
