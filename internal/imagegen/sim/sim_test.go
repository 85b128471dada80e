package sim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, method, url, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDashScopeTaskStates walks the raw protocol: PENDING at submit, RUNNING, then SUCCEEDED
// with result URLs that serve real PNGs of the requested size.
func TestDashScopeTaskStates(t *testing.T) {
	srv := httptest.NewServer(NewDashScope("k"))
	defer srv.Close()
	hdr := map[string]string{"Authorization": "Bearer k", "X-DashScope-Async": "enable", "Content-Type": "application/json"}
	code, body := do(t, "POST", srv.URL+"/api/v1/services/aigc/text2image/image-synthesis",
		`{"model":"wanx2.1-t2i-turbo","input":{"prompt":"猫"},"parameters":{"size":"320*200","n":1}}`, hdr)
	var sub struct {
		Output    struct{ TaskID, TaskStatus string } `json:"output"`
		RequestID string                              `json:"request_id"`
	}
	if err := json.Unmarshal(body, &sub); err != nil || code != 200 {
		t.Fatalf("submit: %d %s", code, body)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal(body, &raw)
	if raw["output"]["task_status"] != "PENDING" || raw["output"]["task_id"] == "" {
		t.Fatalf("submit answer %s", body)
	}
	id := raw["output"]["task_id"].(string)
	var states []string
	var url string
	for i := 0; i < 3; i++ {
		_, body := do(t, "GET", srv.URL+"/api/v1/tasks/"+id, "", map[string]string{"Authorization": "Bearer k"})
		var st struct {
			Output struct {
				TaskStatus string `json:"task_status"`
				Results    []struct {
					URL string `json:"url"`
				} `json:"results"`
			} `json:"output"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		states = append(states, st.Output.TaskStatus)
		if len(st.Output.Results) > 0 {
			url = st.Output.Results[0].URL
		}
	}
	if strings.Join(states, ",") != "RUNNING,SUCCEEDED,SUCCEEDED" {
		t.Fatalf("states %v", states)
	}
	code, img := do(t, "GET", url, "", nil)
	if code != 200 {
		t.Fatalf("result: %d", code)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 320 || cfg.Height != 200 {
		t.Fatalf("result image %+v %v", cfg, err)
	}
	// Without the async header DashScope refuses, as the real service does.
	delete(hdr, "X-DashScope-Async")
	if code, _ := do(t, "POST", srv.URL+"/api/v1/services/aigc/text2image/image-synthesis", `{"model":"m","input":{"prompt":"p"}}`, hdr); code != 403 {
		t.Errorf("synchronous call: %d, want 403", code)
	}
}

func TestOpenAIB64(t *testing.T) {
	srv := httptest.NewServer(NewOpenAI(""))
	defer srv.Close()
	code, body := do(t, "POST", srv.URL+"/v1/images/generations", `{"prompt":"p","size":"128x96"}`, nil)
	var resp struct {
		Data []struct {
			B64JSON string `json:"b64_json"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || code != 200 || len(resp.Data) != 1 {
		t.Fatalf("%d %s", code, body)
	}
	data, err := base64.StdEncoding.DecodeString(resp.Data[0].B64JSON)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil || img.Bounds() != image.Rect(0, 0, 128, 96) {
		t.Fatalf("%v %v", img.Bounds(), err)
	}
}

func TestPictureDependsOnPrompt(t *testing.T) {
	a, b := Picture("cat", 0, 64, 64), Picture("dog", 0, 64, 64)
	if bytes.Equal(a, b) {
		t.Fatal("different prompts gave the same picture")
	}
	if !bytes.Equal(a, Picture("cat", 0, 64, 64)) {
		t.Fatal("Picture is not deterministic")
	}
}
