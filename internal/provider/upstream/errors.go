package upstream

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// Codes of errors the adapters produce. They are the apierr codes a client (and the router)
// sees for upstream failures.
const (
	CodeUpstreamAuth         = "upstream_auth_failed"
	CodeUpstreamCredential   = "upstream_credential_missing"
	CodeUpstreamAccess       = "upstream_access_denied"
	CodeUpstreamRateLimited  = "upstream_rate_limited"
	CodeUpstreamQuota        = "upstream_quota_exhausted"
	CodeUpstreamUnavailable  = "upstream_unavailable"
	CodeUpstreamTimeout      = "upstream_timeout"
	CodeUpstreamBadRequest   = "upstream_bad_request"
	CodeUpstreamBadResponse  = "upstream_bad_response"
	CodeUpstreamModel        = "upstream_model_not_found"
	CodeUpstreamTooLarge     = "upstream_request_too_large"
	CodeUpstreamStreamBroken = "upstream_stream_broken"
)

// Error describes an error the upstream reported, before mapping. Status is the HTTP
// status the upstream gave (or the :HTTP_STATUS of an in-stream error event); Code and Message
// are the upstream's own (DashScope "Throttling.RateQuota", OpenAI "insufficient_quota", ...).
type Error struct {
	Provider  string
	Status    int
	Code      string
	Type      string
	Message   string
	RequestID string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: upstream error %d %s", e.Provider, e.Status, e.Code)
	if e.Type != "" && e.Type != e.Code {
		s += " (" + e.Type + ")"
	}
	if e.Message != "" {
		s += ": " + Sanitize(e.Message)
	}
	if e.RequestID != "" {
		s += " [request_id " + e.RequestID + "]"
	}
	return s
}

// Map turns an upstream-reported error into the gateway's typed error. The mapping is the
// same for DashScope's native codes and OpenAI-style codes, so a route can fall back from one
// protocol to the other and the client sees the same outcome. The upstream message reaches the
// client only for request errors (4xx that the caller can fix), and then sanitized.
func Map(e *Error) *apierr.Error {
	code := e.Code
	lc := strings.ToLower(code)
	lt := strings.ToLower(e.Type)
	var out *apierr.Error
	switch {
	case lc == "datainspectionfailed" || lc == "data_inspection_failed" || lt == "data_inspection_failed":
		// Moderation at the model partner. Never retried elsewhere: the same content would be
		// judged the same way, and a block must not be laundered through a second provider.
		out = apierr.ContentFilter("the model provider's content moderation blocked this " + inOut(e.Message))
	case lc == "throttling.allocationquota" || lc == "insufficient_quota" || lt == "insufficient_quota" ||
		lc == "arrearage" || lc == "throttling.allocationquota.freetieronly":
		out = apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, CodeUpstreamQuota,
			"the model provider's quota for this service is used up")
	case strings.HasPrefix(lc, "throttling") || lc == "rate_limit_exceeded" || lc == "limit_requests" ||
		lt == "rate_limit_error" || lt == "requests" || lt == "tokens" || e.Status == http.StatusTooManyRequests:
		out = apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, CodeUpstreamRateLimited,
			"the model provider is rate limiting requests; try again shortly")
		out.Retryable = true
	case lc == "invalidapikey" || lc == "invalid_api_key" || e.Status == http.StatusUnauthorized:
		// Our credential, not the caller's: a 502 so the client does not think its own key is bad.
		// Retryable: another provider holds a different credential.
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamAuth,
			"the model provider rejected the gateway's upstream credential")
		out.Retryable = true
	case strings.HasPrefix(lc, "accessdenied") || strings.HasPrefix(lc, "workspace.accessdenied") ||
		e.Status == http.StatusForbidden:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamAccess,
			"the model provider denied access to this model for the gateway's account")
		out.Retryable = true
	case lc == "modelnotfound" || lc == "model_not_found" || lc == "model_not_exist" || e.Status == http.StatusNotFound:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamModel,
			"the model provider does not know the configured model")
		out.Retryable = true
	case lc == "requesttimeout" || e.Status == http.StatusRequestTimeout || e.Status == http.StatusGatewayTimeout:
		out = apierr.New(http.StatusGatewayTimeout, apierr.TypeAPI, CodeUpstreamTimeout,
			"the model provider timed out")
		out.Retryable = true
	case strings.HasPrefix(lc, "internalerror") || lc == "server_error" || lt == "server_error" ||
		lc == "serviceunavailable" || e.Status >= 500:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamUnavailable,
			"the model provider failed to answer")
		out.Retryable = true
	case lc == "badrequest.toolarge" || e.Status == http.StatusRequestEntityTooLarge:
		out = apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, CodeUpstreamTooLarge,
			"the request is too large for the model provider")
	case e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity ||
		strings.HasPrefix(lc, "invalidparameter") || strings.HasPrefix(lc, "badrequest") || lc == "invalid_parameter_error" ||
		lt == "invalid_request_error":
		msg := "the model provider rejected the request"
		if m := Sanitize(e.Message); m != "" {
			msg += ": " + m
		}
		out = apierr.BadRequest(CodeUpstreamBadRequest, msg)
	case e.Status == 0:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamBadResponse,
			"the model provider reported an unexpected error")
	default:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamBadResponse,
			fmt.Sprintf("the model provider answered with an unexpected error (HTTP %d)", e.Status))
	}
	return out.WithCause(e)
}

func inOut(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.HasPrefix(m, "output"):
		return "answer"
	case strings.HasPrefix(m, "input"):
		return "request"
	}
	return "content"
}

var (
	secretLike = regexp.MustCompile(`(?i)\b(?:sk|ak)-[A-Za-z0-9_\-]{6,}|\b[A-Za-z0-9_\-]{32,}\b`)
	bearerLike = regexp.MustCompile(`(?i)\bbearer\s+\S+`)
)

// Sanitize makes an upstream message fit to show: control characters removed, anything that
// looks like a key masked, at most 300 runes. Upstream messages sometimes quote parts of the
// request; the request side has already pseudonymized personal data, so what is quoted back is
// placeholders, not originals.
func Sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = bearerLike.ReplaceAllString(s, "Bearer ***")
	s = secretLike.ReplaceAllString(s, "***")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 300 {
		r := []rune(s)
		s = string(r[:300]) + "…"
	}
	return s
}
