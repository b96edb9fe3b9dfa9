package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := writeEnvelope(&buf, flagMessage, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := writeEnvelope(&buf, flagEndStream, endStreamPayload(nil)); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0, 0, 0, 0, 7}, []byte(`{"a":1}`)...)
	if !bytes.Equal(buf.Bytes()[:12], want) {
		t.Fatalf("first envelope bytes %v, want %v", buf.Bytes()[:12], want)
	}
	f, p, err := readEnvelope(&buf)
	if err != nil || f != flagMessage || string(p) != `{"a":1}` {
		t.Fatalf("got %d %q %v", f, p, err)
	}
	f, p, err = readEnvelope(&buf)
	if err != nil || f != flagEndStream || string(p) != `{}` {
		t.Fatalf("got %d %q %v", f, p, err)
	}
	if _, _, err := readEnvelope(&buf); err == nil {
		t.Fatal("reading past the end must fail")
	}
}

func TestEndStreamCarriesError(t *testing.T) {
	var got struct {
		Error rpcError `json:"error"`
	}
	if err := json.Unmarshal(endStreamPayload(errorf("not_found", "pid %d", 7)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Error.Code != "not_found" || got.Error.Message != "pid 7" {
		t.Fatalf("got %+v", got)
	}
}

func TestRefusesOversizedAndCompressed(t *testing.T) {
	if _, _, err := readEnvelope(bytes.NewReader([]byte{0, 0xff, 0xff, 0xff, 0xff})); err == nil {
		t.Fatal("oversized envelope accepted")
	}
	if _, _, err := readEnvelope(bytes.NewReader([]byte{1, 0, 0, 0, 0})); err == nil {
		t.Fatal("compressed envelope accepted")
	}
}

func TestStatusOfCodes(t *testing.T) {
	for code, status := range map[string]int{"not_found": 404, "invalid_argument": 400, "already_exists": 409, "unauthenticated": 401, "internal": 500} {
		if got := httpStatus(code); got != status {
			t.Errorf("%s -> %d, want %d", code, got, status)
		}
	}
}

func TestUintJSONAcceptsNumberAndString(t *testing.T) {
	var s selector
	if err := json.Unmarshal([]byte(`{"pid":"42"}`), &s); err != nil || s.Pid != 42 {
		t.Fatalf("string form: %v %v", s.Pid, err)
	}
	if err := json.Unmarshal([]byte(`{"pid":43}`), &s); err != nil || s.Pid != 43 {
		t.Fatalf("number form: %v %v", s.Pid, err)
	}
}
