package main

// Who a call acts as: the default user, a Basic-auth `user:` (RPCs) or a `username` query (/files),
// and how relative paths resolve against that user's home.

import (
	"encoding/base64"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

type account struct {
	Name   string
	UID    int
	GID    int
	Groups []uint32
	Home   string
}

var accountCache sync.Map // name -> *account

// lookupAccount reads the user from the sandbox's /etc/passwd and /etc/group (pure Go: no cgo).
func lookupAccount(name string) (*account, error) {
	if a, ok := accountCache.Load(name); ok {
		return a.(*account), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, errorf("unauthenticated", "unknown user %q", name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	a := &account{Name: name, UID: uid, GID: gid, Home: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				a.Groups = append(a.Groups, uint32(n))
			}
		}
	}
	if a.Home == "" {
		a.Home = "/"
	}
	accountCache.Store(name, a)
	return a, nil
}

// basicUser is the user named by `Authorization: Basic base64("<user>:")`, or "".
func basicUser(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Basic ") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil {
		return ""
	}
	name, _, _ := strings.Cut(string(raw), ":")
	return name
}

// callerAccount is the account an RPC acts as.
func (a *agent) callerAccount(r *http.Request) (*account, error) {
	name := basicUser(r)
	if name == "" {
		name = a.defaultUser
	}
	return lookupAccount(name)
}

// resolvePath makes p absolute: "~" and "~/x" name the home, relative paths start at the home.
func resolvePath(p, home string) (string, error) {
	if p == "" {
		return "", errorf("invalid_argument", "path is required")
	}
	if p == "~" {
		p = home
	} else if strings.HasPrefix(p, "~/") {
		p = filepath.Join(home, p[2:])
	} else if !filepath.IsAbs(p) {
		p = filepath.Join(home, p)
	}
	return filepath.Clean(p), nil
}

// mkdirAllOwned creates dir and its missing parents (0755), owning the new ones to acc.
func mkdirAllOwned(dir string, acc *account) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return errorf("invalid_argument", "%s exists and is not a directory", dir)
		}
		return nil
	}
	if err := mkdirAllOwned(filepath.Dir(dir), acc); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fsError(err, dir)
	}
	chownTo(dir, acc)
	return nil
}

// chownTo gives path to acc when the agent may (it runs as root in a sandbox).
func chownTo(path string, acc *account) {
	if os.Geteuid() == 0 {
		_ = os.Lchown(path, acc.UID, acc.GID)
	}
}
