package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteHidesCausesAndKeepsShape(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		wantCode   any
		wantParam  any
		notContain string
	}{
		{"typed", BadRequest("invalid_type", "bad").WithParam("model").WithCause(errors.New("secret sk-123")), 400, "invalid_type", "model", "sk-123"},
		{"wrapped", fmt.Errorf("context: %w", ContentFilter("no")), 400, "content_filter", nil, ""},
		{"plain error", errors.New("db password=hunter2"), 500, "internal_error", nil, "hunter2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tc.err)
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var body map[string]map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			e := body["error"]
			for _, k := range []string{"message", "type", "code", "param"} {
				if _, ok := e[k]; !ok {
					t.Errorf("member %q missing: %s", k, rec.Body)
				}
			}
			if e["code"] != tc.wantCode || e["param"] != tc.wantParam {
				t.Errorf("code %v param %v", e["code"], e["param"])
			}
			if tc.notContain != "" && strings.Contains(rec.Body.String(), tc.notContain) {
				t.Errorf("cause leaked: %s", rec.Body)
			}
		})
	}
}

func TestHeaderAndPredicates(t *testing.T) {
	e := New(http.StatusTooManyRequests, TypeRateLimit, "rate_limit_exceeded", "slow down")
	e.Header = http.Header{"Retry-After": {"3"}}
	rec := httptest.NewRecorder()
	Write(rec, e)
	if rec.Header().Get("Retry-After") != "3" {
		t.Error("Retry-After not written")
	}
	r := New(502, TypeAPI, "upstream_error", "x")
	r.Retryable = true
	if !IsRetryable(fmt.Errorf("wrap: %w", r)) || IsRetryable(e) || IsRetryable(errors.New("x")) {
		t.Error("IsRetryable")
	}
	if !IsContentFilter(ContentFilter("x")) || IsContentFilter(r) {
		t.Error("IsContentFilter")
	}
}
