package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// listenBlocking serves accepted connections (blocking, outside the netpoller) to serve.
func listenBlocking(t *testing.T) (*blockingListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bl, err := blockingAccept(ln.(*net.TCPListener))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bl.Close() })
	return bl, bl.Addr().String()
}

func randomFile(t *testing.T, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// ReadFrom sends a file (sendfile), a part of one (a limited reader from an offset), a pipe
// (sendfile refuses it: copied instead) and a plain reader, each byte for byte.
func TestBlockingConnReadFrom(t *testing.T) {
	p, data := randomFile(t, 3<<20+123)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = pw.Write(data[:200000])
		pw.Close()
	}()
	cases := []struct {
		name string
		src  func() (io.Reader, func())
		want []byte
	}{
		{"file", func() (io.Reader, func()) { f, _ := os.Open(p); return f, func() { f.Close() } }, data},
		{"limited file from an offset", func() (io.Reader, func()) {
			f, _ := os.Open(p)
			_, _ = f.Seek(1000, io.SeekStart)
			return &io.LimitedReader{R: f, N: 500000}, func() { f.Close() }
		}, data[1000:501000]},
		{"pipe", func() (io.Reader, func()) { return pr, func() { pr.Close() } }, data[:200000]},
		{"plain reader", func() (io.Reader, func()) { return bytes.NewReader(data[:70000]), func() {} }, data[:70000]},
	}
	bl, addr := listenBlocking(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				c, err := bl.Accept()
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				src, closeSrc := tc.src()
				defer closeSrc()
				n, err := c.(io.ReaderFrom).ReadFrom(src)
				if err == nil && n != int64(len(tc.want)) {
					err = io.ErrShortWrite
				}
				done <- err
			}()
			cc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			got, err := io.ReadAll(cc)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("ReadFrom: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("received %d bytes, not the %d sent", len(got), len(tc.want))
			}
		})
	}
}

// /files through net/http on blocking connections: an upload in large reads, a download sent
// with sendfile after net/http's first bytes, and a gzip one, all byte for byte on one
// kept-alive connection.
func TestFilesRoundTripOnBlockingConns(t *testing.T) {
	_, data := randomFile(t, 5<<20+7)
	// No reaper: /files starts no process, and a second reaper would take other tests' children.
	a := &agent{defaultUser: "root", env: map[string]string{}}
	a.procs = newProcessManager(a)
	bl, addr := listenBlocking(t)
	srv := &http.Server{Handler: a.routes()}
	go func() { _ = srv.Serve(bl) }()
	t.Cleanup(func() { _ = srv.Close() })

	dest := filepath.Join(t.TempDir(), "up.bin")
	url := "http://" + addr + "/files?username=root&path=" + dest
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	res, err := client.Post(url, "application/octet-stream", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload answered %d: %s", res.StatusCode, body)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Fatalf("the uploaded file has %d bytes, not the %d sent", len(got), len(data))
	}

	res, err = client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("download: status %d, %d bytes of %d, %v", res.StatusCode, len(got), len(data), err)
	}
	if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(data)) {
		t.Fatalf("Content-Length %q", cl)
	}

	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("gzip download: %d bytes of %d, %v", len(got), len(data), err)
	}
}
