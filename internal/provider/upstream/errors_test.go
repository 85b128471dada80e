package upstream

import (
	"errors"
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

func TestMap(t *testing.T) {
	tests := []struct {
		name      string
		in        Error
		status    int
		code      string
		retryable bool
	}{
		{name: "native input moderation", in: Error{Status: 400, Code: "DataInspectionFailed", Message: "Input data may contain inappropriate content."}, status: 400, code: apierr.CodeContentFilter},
		{name: "compat output moderation in stream", in: Error{Code: "data_inspection_failed", Type: "data_inspection_failed", Message: "Output data may contain inappropriate content."}, status: 400, code: apierr.CodeContentFilter},
		{name: "throttling", in: Error{Status: 429, Code: "Throttling"}, status: 429, code: CodeUpstreamRateLimited, retryable: true},
		{name: "rate quota", in: Error{Status: 429, Code: "Throttling.RateQuota"}, status: 429, code: CodeUpstreamRateLimited, retryable: true},
		{name: "burst rate", in: Error{Status: 429, Code: "Throttling.BurstRate"}, status: 429, code: CodeUpstreamRateLimited, retryable: true},
		{name: "allocation quota", in: Error{Status: 429, Code: "Throttling.AllocationQuota"}, status: 429, code: CodeUpstreamQuota},
		{name: "openai insufficient quota", in: Error{Status: 429, Code: "insufficient_quota", Type: "insufficient_quota"}, status: 429, code: CodeUpstreamQuota},
		{name: "openai rate limit", in: Error{Status: 429, Code: "rate_limit_exceeded", Type: "requests"}, status: 429, code: CodeUpstreamRateLimited, retryable: true},
		{name: "bare 429", in: Error{Status: 429}, status: 429, code: CodeUpstreamRateLimited, retryable: true},
		{name: "arrearage", in: Error{Status: 400, Code: "Arrearage", Message: "Access denied, please make sure your account is in good standing."}, status: 429, code: CodeUpstreamQuota},
		{name: "invalid api key", in: Error{Status: 401, Code: "InvalidApiKey", Message: "Invalid API-key provided."}, status: 502, code: CodeUpstreamAuth, retryable: true},
		{name: "compat invalid api key", in: Error{Status: 401, Code: "invalid_api_key", Type: "invalid_request_error"}, status: 502, code: CodeUpstreamAuth, retryable: true},
		{name: "access denied", in: Error{Status: 403, Code: "AccessDenied.Unpurchased"}, status: 502, code: CodeUpstreamAccess, retryable: true},
		{name: "model not found", in: Error{Status: 404, Code: "model_not_found"}, status: 502, code: CodeUpstreamModel, retryable: true},
		{name: "request timeout", in: Error{Status: 408, Code: "RequestTimeOut"}, status: 504, code: CodeUpstreamTimeout, retryable: true},
		{name: "internal error", in: Error{Status: 500, Code: "InternalError"}, status: 502, code: CodeUpstreamUnavailable, retryable: true},
		{name: "internal algo error in stream", in: Error{Code: "InternalError.Algo"}, status: 502, code: CodeUpstreamUnavailable, retryable: true},
		{name: "bare 503", in: Error{Status: 503}, status: 502, code: CodeUpstreamUnavailable, retryable: true},
		{name: "too large", in: Error{Status: 413, Code: "BadRequest.TooLarge"}, status: 413, code: CodeUpstreamTooLarge},
		{name: "invalid parameter", in: Error{Status: 400, Code: "InvalidParameter", Message: "Range of input length should be [1, 30720]"}, status: 400, code: CodeUpstreamBadRequest},
		{name: "compat invalid parameter", in: Error{Status: 400, Code: "invalid_parameter_error", Type: "invalid_request_error", Message: "x"}, status: 400, code: CodeUpstreamBadRequest},
		{name: "invalid parameter in stream", in: Error{Code: "InvalidParameter"}, status: 400, code: CodeUpstreamBadRequest},
		{name: "unknown in stream", in: Error{Code: "Weird"}, status: 502, code: CodeUpstreamBadResponse},
		{name: "unknown 418", in: Error{Status: 418}, status: 502, code: CodeUpstreamBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Provider = "p"
			e := Map(&in)
			if e.Status != tt.status || e.Code != tt.code || e.Retryable != tt.retryable {
				t.Errorf("Map = %d %s retryable=%v, want %d %s retryable=%v", e.Status, e.Code, e.Retryable, tt.status, tt.code, tt.retryable)
			}
			var ue *Error
			if !errors.As(e, &ue) || ue.Code != tt.in.Code {
				t.Errorf("the upstream error is not kept as the cause")
			}
			if e.Message == "" {
				t.Error("empty public message")
			}
		})
	}
}

func TestMapContentFilterSaysWhich(t *testing.T) {
	in := Map(&Error{Code: "DataInspectionFailed", Message: "Input data may contain inappropriate content."})
	out := Map(&Error{Code: "DataInspectionFailed", Message: "Output data may contain inappropriate content."})
	if !strings.HasSuffix(in.Message, "request") || !strings.HasSuffix(out.Message, "answer") {
		t.Errorf("messages: %q / %q", in.Message, out.Message)
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{name: "plain", in: "Range of input length should be [1, 30720]", want: "Range of input length should be [1, 30720]"},
		{name: "controls", in: "bad\x00value\nnext\tcol", want: "badvalue next col"},
		{name: "key", in: "Invalid key sk-abcdef0123456789abcdef", want: "Invalid key ***"},
		{name: "bearer", in: "got Bearer abc.def", want: "got Bearer ***"},
		{name: "long token", in: "token 0123456789abcdef0123456789abcdef01 rejected", want: "token *** rejected"},
		{name: "long", in: strings.Repeat("长", 400), want: strings.Repeat("长", 300) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
