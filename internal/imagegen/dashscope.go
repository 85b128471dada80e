package imagegen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// DashScope paths of the asynchronous image-synthesis protocol.
const (
	DashScopeSubmitPath = "/api/v1/services/aigc/text2image/image-synthesis"
	DashScopeTaskPath   = "/api/v1/tasks/"
)

// DashScope task states.
const (
	TaskPending   = "PENDING"
	TaskRunning   = "RUNNING"
	TaskSuspended = "SUSPENDED"
	TaskSucceeded = "SUCCEEDED"
	TaskFailed    = "FAILED"
	TaskCanceled  = "CANCELED"
	TaskUnknown   = "UNKNOWN"
)

// DashScope generates images with DashScope's asynchronous task protocol: submit with
// X-DashScope-Async: enable, poll GET /api/v1/tasks/{id} with growing intervals until
// SUCCEEDED or FAILED, then download the result URLs.
type DashScope struct {
	cfg  Config
	opts Options
	key  string
	base string
}

var _ Provider = (*DashScope)(nil)

// DashScopeSubmit is the body of a submit request.
type DashScopeSubmit struct {
	Model string `json:"model"`
	Input struct {
		Prompt string `json:"prompt"`
	} `json:"input"`
	Parameters struct {
		Size string `json:"size,omitempty"` // "1024*1024"
		N    int    `json:"n,omitempty"`
	} `json:"parameters"`
}

// DashScopeTask is the answer to a submit or a task poll.
type DashScopeTask struct {
	RequestID string `json:"request_id"`
	Output    struct {
		TaskID     string `json:"task_id"`
		TaskStatus string `json:"task_status"`
		Code       string `json:"code,omitempty"`
		Message    string `json:"message,omitempty"`
		Results    []struct {
			URL          string `json:"url,omitempty"`
			OrigPrompt   string `json:"orig_prompt,omitempty"`
			ActualPrompt string `json:"actual_prompt,omitempty"`
			Code         string `json:"code,omitempty"`
			Message      string `json:"message,omitempty"`
		} `json:"results,omitempty"`
	} `json:"output"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

func (d *DashScope) name() string { return "dashscope " + d.cfg.Name }

func (d *DashScope) decodeErr(status int, body []byte) *UpstreamError {
	var e struct{ Code, Message, RequestID string }
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
		e.Code = "http_" + strconv.Itoa(status)
	}
	var raw struct {
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(body, &raw)
	return &UpstreamError{Provider: d.name(), Status: status, Code: e.Code, Message: e.Message, RequestID: raw.RequestID}
}

func (d *DashScope) newRequest(method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-DashScope-Async", "enable")
	}
	return req, nil
}

// Generate implements Provider.
func (d *DashScope) Generate(ctx context.Context, r Request) ([]Image, error) {
	n, w, h, err := checkRequest(r)
	if err != nil {
		return nil, err
	}
	var sub DashScopeSubmit
	sub.Model = r.Model
	if sub.Model == "" {
		sub.Model = d.cfg.Model
	}
	sub.Input.Prompt = r.Prompt
	sub.Parameters.Size = fmt.Sprintf("%d*%d", w, h)
	sub.Parameters.N = n
	body, _ := json.Marshal(sub)

	ctx, cancel := context.WithTimeoutCause(ctx, d.cfg.MaxWait, errDeadline)
	defer cancel()

	req, err := d.newRequest(http.MethodPost, DashScopeSubmitPath, body)
	if err != nil {
		return nil, badResponse(d.name(), err)
	}
	var task DashScopeTask
	upErr, err := doJSON(ctx, d.opts.HTTPClient, req, maxTaskJSON, &task, d.decodeErr)
	if errors.Is(err, errDecode) {
		return nil, badResponse(d.name(), err)
	}
	if err != nil {
		// Nothing was accepted yet: another provider may try.
		return nil, transportError(d.name(), cause(ctx, err), true)
	}
	if upErr != nil {
		return nil, mapError(upErr)
	}
	id := task.Output.TaskID
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, badResponse(d.name(), fmt.Errorf("submit answer has no usable task_id (request_id %s)", task.RequestID))
	}

	// The task is accepted and billed from here on; failures are not retried elsewhere.
	wait := d.cfg.PollInterval
	for {
		if err := d.opts.Sleep(ctx, wait); err != nil {
			return nil, transportError(d.name(), fmt.Errorf("task %s: %w", id, cause(ctx, err)), false)
		}
		wait = min(wait+wait/2, 4*d.cfg.PollInterval)
		req, err := d.newRequest(http.MethodGet, DashScopeTaskPath+url.PathEscape(id), nil)
		if err != nil {
			return nil, badResponse(d.name(), err)
		}
		var st DashScopeTask
		upErr, err := doJSON(ctx, d.opts.HTTPClient, req, maxTaskJSON, &st, d.decodeErr)
		if errors.Is(err, errDecode) {
			return nil, badResponse(d.name(), fmt.Errorf("task %s: %w", id, err))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, transportError(d.name(), fmt.Errorf("task %s: %w", id, cause(ctx, err)), false)
			}
			continue // a failed poll is not a failed task; try again until max_wait
		}
		if upErr != nil {
			if upErr.Status == http.StatusTooManyRequests || upErr.Status >= 500 {
				continue
			}
			return nil, mapError(upErr)
		}
		switch st.Output.TaskStatus {
		case TaskPending, TaskRunning, TaskSuspended:
			continue
		case TaskSucceeded:
			return d.collect(ctx, id, &st)
		case TaskFailed, TaskCanceled, TaskUnknown:
			code := st.Output.Code
			if code == "" {
				code = "Task" + st.Output.TaskStatus
			}
			return nil, mapError(&UpstreamError{Provider: d.name(), Status: http.StatusOK, Code: code,
				Message: st.Output.Message, RequestID: st.RequestID})
		default:
			return nil, badResponse(d.name(), fmt.Errorf("task %s: unknown task_status %q", id, st.Output.TaskStatus))
		}
	}
}

func (d *DashScope) collect(ctx context.Context, id string, st *DashScopeTask) ([]Image, error) {
	var out []Image
	var firstErr *UpstreamError
	httpsOnly := strings.HasPrefix(d.base, "https:")
	for _, res := range st.Output.Results {
		if res.URL == "" {
			// One image of several may fail (results[i] then has code and message).
			if firstErr == nil {
				firstErr = &UpstreamError{Provider: d.name(), Status: http.StatusOK, Code: res.Code, Message: res.Message, RequestID: st.RequestID}
			}
			continue
		}
		img, err := download(ctx, d.opts.HTTPClient, res.URL, httpsOnly, d.cfg.MaxImageBytes)
		if err != nil {
			return nil, downloadError(d.name(), ctx, err)
		}
		img.RevisedPrompt = res.ActualPrompt
		out = append(out, img)
	}
	if len(out) == 0 {
		if firstErr != nil && firstErr.Code != "" {
			return nil, mapError(firstErr)
		}
		return nil, badResponse(d.name(), fmt.Errorf("task %s succeeded without results", id))
	}
	return out, nil
}

func downloadError(provider string, ctx context.Context, err error) error {
	var tl errTooLarge
	if errors.As(err, &tl) {
		return apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeImageTooLarge,
			"the generated image is larger than the gateway accepts").WithCause(fmt.Errorf("%s: %w", provider, err))
	}
	if ctx.Err() != nil {
		return transportError(provider, cause(ctx, err), false)
	}
	return badResponse(provider, err)
}

// cause prefers the context's cause (errDeadline when max_wait ran out) over err.
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil {
		return fmt.Errorf("%w (%v)", c, err)
	}
	return err
}
