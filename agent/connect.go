package main

// The Connect protocol with the JSON codec, as the E2B SDK (connect-web) speaks it: unary calls
// are plain JSON bodies; server streams are envelopes (flags byte, 4-byte big-endian length, JSON)
// ending with a flag-2 envelope that carries the error, if any.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

const (
	flagMessage   = 0
	flagEndStream = 2
	maxMessage    = 16 << 20
)

// rpcError is a Connect error: a code name from the Connect spec and a message.
type rpcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return e.Code + ": " + e.Message }

func errorf(code, format string, a ...any) *rpcError {
	return &rpcError{Code: code, Message: fmt.Sprintf(format, a...)}
}

// httpStatus maps a Connect code to the HTTP status of a unary error response.
func httpStatus(code string) int {
	switch code {
	case "canceled":
		return 499
	case "invalid_argument", "failed_precondition", "out_of_range":
		return 400
	case "deadline_exceeded":
		return 504
	case "not_found":
		return 404
	case "already_exists", "aborted":
		return 409
	case "permission_denied":
		return 403
	case "resource_exhausted":
		return 429
	case "unimplemented":
		return 501
	case "unavailable":
		return 503
	case "unauthenticated":
		return 401
	}
	return 500
}

func asRPCError(err error) *rpcError {
	var re *rpcError
	if errors.As(err, &re) {
		return re
	}
	return &rpcError{Code: "internal", Message: err.Error()}
}

// writeEnvelope writes one envelope: flags, big-endian length, payload.
func writeEnvelope(w io.Writer, flags byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = flags
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readEnvelope reads one envelope; compressed envelopes are refused (the SDK never sends them).
func readEnvelope(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxMessage {
		return 0, nil, errorf("resource_exhausted", "message of %d bytes is too large", n)
	}
	if hdr[0]&1 != 0 {
		return 0, nil, errorf("unimplemented", "compressed messages are not supported")
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return hdr[0], buf, nil
}

// endStreamPayload is the JSON of the final envelope: {} or {"error":{...}}.
func endStreamPayload(err *rpcError) []byte {
	if err == nil {
		return []byte("{}")
	}
	b, _ := json.Marshal(map[string]any{"error": err})
	return b
}

// writeUnaryError answers a unary call with a Connect error (JSON body, non-200 status).
func writeUnaryError(w http.ResponseWriter, err error) {
	re := asRPCError(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus(re.Code))
	b, _ := json.Marshal(re)
	_, _ = w.Write(b)
}

// unary adapts a typed handler to a Connect unary endpoint.
func unary[Req any, Resp any](fn func(r *http.Request, req *Req) (*Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeUnaryError(w, errorf("unimplemented", "use POST"))
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxMessage+1))
		if err != nil {
			writeUnaryError(w, errorf("invalid_argument", "reading request: %v", err))
			return
		}
		var req Req
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req); err != nil {
				writeUnaryError(w, errorf("invalid_argument", "bad request JSON: %v", err))
				return
			}
		}
		resp, err := fn(r, &req)
		if err != nil {
			writeUnaryError(w, err)
			return
		}
		b, err := json.Marshal(resp)
		if err != nil {
			writeUnaryError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// stream is the server side of one server-streaming call.
type stream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	flusher http.Flusher
	r       *http.Request
	closed  bool
}

// Send writes one message envelope and flushes it to the client.
func (s *stream) Send(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return io.ErrClosedPipe
	}
	if err := writeEnvelope(s.w, flagMessage, b); err != nil {
		return err
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return nil
}

func (s *stream) end(err *rpcError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	_ = writeEnvelope(s.w, flagEndStream, endStreamPayload(err))
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// keepaliveInterval is how often a stream sends keepalive messages: the client's
// Keepalive-Ping-Interval (seconds) or 50 s, never under 1 s.
func keepaliveInterval(r *http.Request) time.Duration {
	if v, err := strconv.Atoi(r.Header.Get("Keepalive-Ping-Interval")); err == nil && v > 0 {
		return time.Duration(v) * time.Second
	}
	return 50 * time.Second
}

// streamTimeout is the call's deadline from Connect-Timeout-Ms (0 = none).
func streamTimeout(r *http.Request) time.Duration {
	if v, err := strconv.ParseInt(r.Header.Get("Connect-Timeout-Ms"), 10, 64); err == nil && v > 0 {
		return time.Duration(v) * time.Millisecond
	}
	return 0
}

// serverStream adapts a typed handler to a Connect server-streaming endpoint. The response is
// always 200 (clients map a non-200 stream status from the status alone); errors travel in the
// end-stream envelope.
func serverStream[Req any](fn func(s *stream, req *Req) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/connect+json")
		s := &stream{w: w, r: r}
		s.flusher, _ = w.(http.Flusher)
		var req Req
		flags, payload, err := readEnvelope(r.Body)
		if err == nil && flags&flagEndStream != 0 {
			err = errorf("invalid_argument", "expected a message envelope")
		}
		if err == nil {
			if jerr := json.Unmarshal(payload, &req); jerr != nil {
				err = errorf("invalid_argument", "bad request JSON: %v", jerr)
			}
		} else if !errors.As(err, new(*rpcError)) {
			err = errorf("invalid_argument", "reading request envelope: %v", err)
		}
		// Consume the rest of the body so the server notices when the client goes away.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxMessage))
		w.WriteHeader(http.StatusOK)
		if err == nil {
			err = fn(s, &req)
		}
		if err != nil {
			s.end(asRPCError(err))
		} else {
			s.end(nil)
		}
	}
}

// uintJSON accepts a proto3 JSON integer as a number or a string.
type uintJSON uint32

func (u *uintJSON) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := strconv.ParseUint(s, 10, 32)
		*u = uintJSON(v)
		return err
	}
	var v uint32
	err := json.Unmarshal(b, &v)
	*u = uintJSON(v)
	return err
}
