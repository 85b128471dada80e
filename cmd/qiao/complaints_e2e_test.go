package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// call makes one JSON request and decodes the answer into out (if not nil).
func (e *e2e) call(method, path, bearer, body string, out any) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp
}

func TestE2EComplaints(t *testing.T) {
	e := startE2E(t)
	var filed struct {
		ID       string    `json:"id"`
		State    string    `json:"state"`
		Deadline time.Time `json:"deadline"`
		Body     string    `json:"body"`
	}
	resp := e.call("POST", "/v1/complaints", e.keys["CN"], `{"body":"回答里有错误信息","category":"inaccurate","request_id":"req_1"}`, &filed)
	if resp.StatusCode != 201 || filed.State != "received" || !strings.HasPrefix(filed.ID, "cmp_") {
		t.Fatalf("file: %d %+v", resp.StatusCode, filed)
	}
	if d := time.Until(filed.Deadline); d < 14*24*time.Hour || d > 15*24*time.Hour {
		t.Errorf("deadline %v is not 15 days from now", filed.Deadline)
	}
	if filed.Body != "" {
		t.Error("the complaint text is echoed to the user API")
	}
	// Another tenant's key cannot see it; the owner can.
	if resp := e.call("GET", "/v1/complaints/"+filed.ID, e.keys["US"], "", nil); resp.StatusCode != 404 {
		t.Errorf("other region/tenant sees the complaint: %d", resp.StatusCode)
	}
	if resp := e.call("GET", "/v1/complaints/"+filed.ID, e.keys["CN"], "", nil); resp.StatusCode != 200 {
		t.Errorf("owner cannot see the complaint: %d", resp.StatusCode)
	}
	// Staff move it on with the admin token; a wrong token or a skipped state is refused.
	if resp := e.call("POST", "/admin/complaints/"+filed.ID+"/transition?region=CN", "nope", `{"state":"processing"}`, nil); resp.StatusCode != 401 {
		t.Errorf("bad admin token: %d", resp.StatusCode)
	}
	if resp := e.call("POST", "/admin/complaints/"+filed.ID+"/transition?region=CN", "admin-secret", `{"state":"resolved"}`, nil); resp.StatusCode != 409 {
		t.Errorf("received → resolved allowed: %d", resp.StatusCode)
	}
	for _, st := range []string{"processing", "resolved"} {
		var got struct{ State, Body string }
		resp := e.call("POST", "/admin/complaints/"+filed.ID+"/transition?region=CN", "admin-secret", `{"state":"`+st+`","note":"已核实"}`, &got)
		if resp.StatusCode != 200 || got.State != st || got.Body == "" {
			t.Fatalf("transition to %s: %d %+v", st, resp.StatusCode, got)
		}
	}
	// Every change is in the audit log, without the complaint text.
	e.stop()
	out := e.run("audit", "export", "--data", e.data, "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z")
	n := strings.Count(out, `"complaint_id":"`+filed.ID+`"`)
	if n != 3 {
		t.Errorf("%d complaint records in the audit log, want 3 (filed, processing, resolved)", n)
	}
	if strings.Contains(out, "回答里有错误信息") || strings.Contains(out, "已核实") {
		t.Error("complaint text leaked into the audit log")
	}
}
