package main

// GET/POST /files: downloads and uploads, as the user named by the `username` query (or the
// default user). Errors are JSON {"code":<status>,"message":"..."}.

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type fileResult struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Path     string            `json:"path"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"code": status, "message": msg})
	_, _ = w.Write(b)
}

func (a *agent) filesAccount(r *http.Request) (*account, error) {
	name := r.URL.Query().Get("username")
	if name == "" {
		name = basicUser(r)
	}
	if name == "" {
		name = a.defaultUser
	}
	return lookupAccount(name)
}

func (a *agent) handleFiles(w http.ResponseWriter, r *http.Request) {
	acc, err := a.filesAccount(r)
	if err != nil {
		httpError(w, http.StatusUnauthorized, err.(*rpcError).Message)
		return
	}
	switch r.Method {
	case http.MethodGet:
		a.download(w, r, acc)
	case http.MethodPost:
		a.upload(w, r, acc)
	default:
		httpError(w, http.StatusMethodNotAllowed, "use GET or POST")
	}
}

func (a *agent) download(w http.ResponseWriter, r *http.Request, acc *account) {
	p, err := resolvePath(r.URL.Query().Get("path"), acc.Home)
	if err != nil {
		httpError(w, http.StatusBadRequest, "path is required")
		return
	}
	f, err := os.Open(p)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			httpError(w, http.StatusNotFound, "file not found: "+p)
		case errors.Is(err, fs.ErrPermission):
			httpError(w, http.StatusForbidden, "permission denied: "+p)
		default:
			httpError(w, http.StatusInternalServerError, err.Error())
		}
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if fi.IsDir() {
		httpError(w, http.StatusBadRequest, "path is a directory: "+p)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filepath.Base(p)}))
	h.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r) && fi.Size() > 0 {
		h.Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		// The fastest level: a transfer's speed matters more here than its ratio (the default
		// level compresses a few times slower, inside gVisor about the network's speed).
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		_, _ = copyBuffered(gz, f)
		_ = gz.Close()
		return
	}
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(http.StatusOK)
	// Straight to net/http's ReadFrom (io.Copy would take os.File's WriteTo, which hides the
	// file): it hands f to the connection, which sends it with sendfile (blocking_conn.go).
	if rf, ok := w.(io.ReaderFrom); ok {
		_, _ = rf.ReadFrom(f)
		return
	}
	_, _ = copyBuffered(w, f)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// metadataHeaders collects X-Metadata-<key> headers, keys lowercased.
func metadataHeaders(r *http.Request) map[string]string {
	var md map[string]string
	for k, vs := range r.Header {
		if len(k) > len("X-Metadata-") && strings.EqualFold(k[:len("X-Metadata-")], "X-Metadata-") && len(vs) > 0 {
			if md == nil {
				md = map[string]string{}
			}
			md[strings.ToLower(k[len("X-Metadata-"):])] = vs[0]
		}
	}
	return md
}

func (a *agent) upload(w http.ResponseWriter, r *http.Request, acc *account) {
	queryPath := r.URL.Query().Get("path")
	md := metadataHeaders(r)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	results := []fileResult{}
	write := func(dest string, body io.Reader) (int, string) {
		p, err := resolvePath(dest, acc.Home)
		if err != nil {
			return http.StatusBadRequest, "a destination path is required"
		}
		res, err := writeFile(p, body, acc, md)
		if err != nil {
			return uploadStatus(err), err.Error()
		}
		results = append(results, *res)
		return 0, ""
	}
	if ctype == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			httpError(w, http.StatusBadRequest, "bad multipart body: "+err.Error())
			return
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				httpError(w, http.StatusBadRequest, "bad multipart body: "+err.Error())
				return
			}
			if part.FormName() != "file" {
				continue
			}
			dest := queryPath
			if dest == "" {
				dest = partFileName(part)
			}
			if status, msg := write(dest, part); status != 0 {
				httpError(w, status, msg)
				return
			}
		}
		if len(results) == 0 {
			httpError(w, http.StatusBadRequest, "no part named \"file\" in the upload")
			return
		}
	} else {
		if queryPath == "" {
			httpError(w, http.StatusBadRequest, "the path query is required for an octet-stream upload")
			return
		}
		var body io.Reader = r.Body
		if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				httpError(w, http.StatusBadRequest, "bad gzip body: "+err.Error())
				return
			}
			defer gz.Close()
			body = gz
		}
		if status, msg := write(queryPath, body); status != 0 {
			httpError(w, status, msg)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(results)
	_, _ = w.Write(b)
}

func uploadStatus(err error) int {
	var re *rpcError
	if errors.As(err, &re) {
		switch re.Code {
		case "invalid_argument":
			return http.StatusBadRequest
		case "permission_denied":
			return http.StatusForbidden
		case "not_found":
			return http.StatusNotFound
		}
	}
	if errors.Is(err, fs.ErrPermission) {
		return http.StatusForbidden
	}
	if errors.Is(err, syscall.ENOSPC) {
		return http.StatusInsufficientStorage
	}
	return http.StatusInternalServerError
}

// writeFile writes body to p in place (so watchers see a write), creating parents, owning the
// file and new parents to acc, and replacing its metadata when md is given.
func writeFile(p string, body io.Reader, acc *account, md map[string]string) (*fileResult, error) {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return nil, errorf("invalid_argument", "%s is a directory", p)
	}
	if err := mkdirAllOwned(filepath.Dir(p), acc); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fsError(err, p)
	}
	// copyBuffered: larger reads than io.Copy's 32 KiB (os.File's ReadFrom would pick those).
	if _, err := copyBuffered(f, body); err != nil {
		f.Close()
		return nil, errorf("internal", "writing %s: %v", p, err)
	}
	if err := f.Close(); err != nil {
		return nil, errorf("internal", "writing %s: %v", p, err)
	}
	chownTo(p, acc)
	res := &fileResult{Name: filepath.Base(p), Type: "file", Path: p}
	if md != nil {
		res.Metadata = replaceMetadata(p, md)
	}
	return res, nil
}

// partFileName is the part's filename parameter as sent: a destination path (Part.FileName
// would keep only its last element).
func partFileName(p *multipart.Part) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}
