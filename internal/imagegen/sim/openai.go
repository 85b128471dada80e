package sim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// OpenAI simulates an OpenAI-compatible image API:
//
//	POST /v1/images/generations           (response_format b64_json, the default, or url)
//	GET  /v1/sim-results/{id}/{index}.png (the URLs it hands out)
type OpenAI struct {
	// Key is the API key callers must present as a Bearer token; empty accepts any.
	Key string

	mu       sync.Mutex
	results  map[string]oaResult
	order    []string
	requests int
}

// Requests returns how many generation requests were answered.
func (s *OpenAI) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

type oaResult struct {
	prompt string
	n      int
	w, h   int
}

// NewOpenAI returns a simulator that requires key (empty: any key).
func NewOpenAI(key string) *OpenAI { return &OpenAI{Key: key} }

func oaError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var c any
	if code != "" {
		c = code
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

// ServeHTTP implements http.Handler.
func (s *OpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/images/generations":
		s.generate(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/sim-results/"):
		s.result(w, r)
	default:
		oaError(w, http.StatusNotFound, "invalid_request_error", "", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

func (s *OpenAI) generate(w http.ResponseWriter, r *http.Request) {
	if s.Key != "" && r.Header.Get("Authorization") != "Bearer "+s.Key {
		oaError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	var body struct {
		Model          string `json:"model"`
		Prompt         string `json:"prompt"`
		N              int    `json:"n"`
		Size           string `json:"size"`
		ResponseFormat string `json:"response_format"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	if strings.TrimSpace(body.Prompt) == "" {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "", "Missing required parameter: 'prompt'.")
		return
	}
	if strings.Contains(body.Prompt, "sim:block") {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "content_policy_violation",
			"Your request was rejected as a result of our safety system.")
		return
	}
	n := body.N
	if n == 0 {
		n = 1
	}
	width, height := 1024, 1024
	if body.Size != "" {
		a, b, ok := strings.Cut(body.Size, "x")
		wi, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || wi < 64 || hi < 64 || wi > 4096 || hi > 4096 {
			oaError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid value for 'size'.")
			return
		}
		width, height = wi, hi
	}
	if n < 1 || n > 10 {
		oaError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid value for 'n'.")
		return
	}
	id := newID()
	s.mu.Lock()
	s.requests++
	if s.results == nil {
		s.results = make(map[string]oaResult)
	}
	s.results[id] = oaResult{prompt: body.Prompt, n: n, w: width, h: height}
	s.order = append(s.order, id)
	if len(s.order) > maxTasks {
		delete(s.results, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	var data []map[string]string
	for i := 0; i < n; i++ {
		d := map[string]string{"revised_prompt": body.Prompt}
		if body.ResponseFormat == "url" {
			d["url"] = "http://" + r.Host + "/v1/sim-results/" + id + "/" + strconv.Itoa(i) + ".png"
		} else {
			d["b64_json"] = base64.StdEncoding.EncodeToString(Picture(body.Prompt, i, width, height))
		}
		data = append(data, d)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"created": time.Now().Unix(), "data": data})
}

func (s *OpenAI) result(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v1/sim-results/")
	id, file, _ := strings.Cut(rest, "/")
	idx, err := strconv.Atoi(strings.TrimSuffix(file, ".png"))
	s.mu.Lock()
	res, ok := s.results[id]
	s.mu.Unlock()
	if !ok || err != nil || idx < 0 || idx >= res.n {
		http.NotFound(w, r)
		return
	}
	servePicture(w, res.prompt, idx, res.w, res.h)
}
