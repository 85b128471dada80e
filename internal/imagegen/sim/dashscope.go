package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// DashScope simulates DashScope's asynchronous image synthesis:
//
//	POST /api/v1/services/aigc/text2image/image-synthesis   (X-DashScope-Async: enable)
//	GET  /api/v1/tasks/{task_id}
//	GET  /sim-results/{task_id}/{index}.png                  (the result URLs it hands out)
type DashScope struct {
	// Key is the API key callers must present as a Bearer token; empty accepts any.
	Key string
	// PollsToFinish is how many polls a task takes to succeed (default 2: RUNNING, then
	// SUCCEEDED).
	PollsToFinish int

	mu             sync.Mutex
	tasks          map[string]*dsTask
	order          []string
	submits, polls int
}

// Counts returns how many tasks were submitted and how many polls were answered.
func (s *DashScope) Counts() (submits, polls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.submits, s.polls
}

type dsTask struct {
	prompt string
	n      int
	w, h   int
	polls  int
}

// HugePadding is how many bytes "sim:huge" adds to an image: past the adapters' 20 MiB default.
const HugePadding = 24 << 20

// maxTasks bounds the simulator's memory; the oldest tasks are forgotten first.
const maxTasks = 1000

// NewDashScope returns a simulator that requires key (empty: any key).
func NewDashScope(key string) *DashScope { return &DashScope{Key: key} }

func dsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"request_id": newID(), "code": code, "message": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

func (s *DashScope) authorized(r *http.Request) bool {
	return s.Key == "" || r.Header.Get("Authorization") == "Bearer "+s.Key
}

// ServeHTTP implements http.Handler.
func (s *DashScope) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/services/aigc/text2image/image-synthesis":
		s.submit(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/tasks/"):
		s.poll(w, r, strings.TrimPrefix(r.URL.Path, "/api/v1/tasks/"))
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/sim-results/"):
		s.result(w, r)
	default:
		dsError(w, http.StatusNotFound, "InvalidURL", "url error, please check url")
	}
}

func (s *DashScope) submit(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		dsError(w, http.StatusUnauthorized, "InvalidApiKey", "Invalid API-key provided.")
		return
	}
	if r.Header.Get("X-DashScope-Async") != "enable" {
		dsError(w, http.StatusForbidden, "AccessDenied", "current user api does not support synchronous calls")
		return
	}
	var body struct {
		Model string `json:"model"`
		Input struct {
			Prompt string `json:"prompt"`
		} `json:"input"`
		Parameters struct {
			Size string `json:"size"`
			N    int    `json:"n"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		dsError(w, http.StatusBadRequest, "InvalidParameter", "request body is not valid JSON")
		return
	}
	if body.Model == "" {
		dsError(w, http.StatusBadRequest, "BadRequest.EmptyModel", `Required parameter "model" missing from request.`)
		return
	}
	if strings.TrimSpace(body.Input.Prompt) == "" {
		dsError(w, http.StatusBadRequest, "InvalidParameter", "input.prompt is required")
		return
	}
	if strings.Contains(body.Input.Prompt, "sim:block") {
		dsError(w, http.StatusBadRequest, "DataInspectionFailed", "Input data may contain inappropriate content.")
		return
	}
	t := &dsTask{prompt: body.Input.Prompt, n: body.Parameters.N, w: 1024, h: 1024}
	if t.n == 0 {
		t.n = 1
	}
	if body.Parameters.Size != "" {
		a, b, ok := strings.Cut(body.Parameters.Size, "*")
		wi, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi > 4096 || hi > 4096 {
			dsError(w, http.StatusBadRequest, "InvalidParameter", "size must be WIDTH*HEIGHT")
			return
		}
		t.w, t.h = wi, hi
	}
	if t.n < 1 || t.n > 4 {
		dsError(w, http.StatusBadRequest, "InvalidParameter", "n must be between 1 and 4")
		return
	}
	id := newID()
	s.mu.Lock()
	s.submits++
	if s.tasks == nil {
		s.tasks = make(map[string]*dsTask)
	}
	s.tasks[id] = t
	s.order = append(s.order, id)
	if len(s.order) > maxTasks {
		delete(s.tasks, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"output":{"task_status":"PENDING","task_id":%q},"request_id":%q}`, id, newID())
}

func (s *DashScope) poll(w http.ResponseWriter, r *http.Request, id string) {
	if !s.authorized(r) {
		dsError(w, http.StatusUnauthorized, "InvalidApiKey", "Invalid API-key provided.")
		return
	}
	s.mu.Lock()
	s.polls++
	t := s.tasks[id]
	var polls int
	if t != nil {
		t.polls++
		polls = t.polls
	}
	s.mu.Unlock()
	out := map[string]any{"task_id": id}
	resp := map[string]any{"request_id": newID(), "output": out}
	finish := s.PollsToFinish
	if finish <= 0 {
		finish = 2
	}
	switch {
	case t == nil:
		out["task_status"] = "UNKNOWN"
	case strings.Contains(t.prompt, "sim:never") || polls < finish:
		out["task_status"] = "RUNNING"
	case strings.Contains(t.prompt, "sim:fail"):
		out["task_status"] = "FAILED"
		out["code"] = "InternalError.Algo"
		out["message"] = "An internal error has occured during algorithm execution."
	default:
		out["task_status"] = "SUCCEEDED"
		base := "http://" + r.Host + "/sim-results/" + id + "/"
		var results []map[string]string
		failed := 0
		for i := 0; i < t.n; i++ {
			if i == 0 && t.n > 1 && strings.Contains(t.prompt, "sim:partial") {
				results = append(results, map[string]string{"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."})
				failed++
				continue
			}
			results = append(results, map[string]string{"url": base + strconv.Itoa(i) + ".png", "orig_prompt": t.prompt, "actual_prompt": t.prompt})
		}
		out["results"] = results
		out["task_metrics"] = map[string]int{"TOTAL": t.n, "SUCCEEDED": t.n - failed, "FAILED": failed}
		resp["usage"] = map[string]int{"image_count": t.n - failed}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *DashScope) result(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/sim-results/")
	id, file, _ := strings.Cut(rest, "/")
	idx, err := strconv.Atoi(strings.TrimSuffix(file, ".png"))
	s.mu.Lock()
	t := s.tasks[id]
	s.mu.Unlock()
	if t == nil || err != nil || idx < 0 || idx >= t.n {
		http.NotFound(w, r)
		return
	}
	servePicture(w, t.prompt, idx, t.w, t.h)
}

func servePicture(w http.ResponseWriter, prompt string, idx, width, height int) {
	data := Picture(prompt, idx, width, height)
	pad := 0
	if strings.Contains(prompt, "sim:huge") {
		// Zeros after IEND: still a valid PNG, just too big for any sane limit.
		pad = HugePadding
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)+pad))
	if _, err := w.Write(data); err != nil {
		return
	}
	zeros := make([]byte, 32<<10)
	for ; pad > 0; pad -= len(zeros) {
		if _, err := w.Write(zeros[:min(pad, len(zeros))]); err != nil {
			return // the client gave up, as it should
		}
	}
}
