package imagegen

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// Codes of the errors adapters return; the same strings the chat adapters use, so clients
// and the router see one vocabulary.
const (
	CodeUpstreamAuth        = "upstream_auth_failed"
	CodeUpstreamAccess      = "upstream_access_denied"
	CodeUpstreamRateLimited = "upstream_rate_limited"
	CodeUpstreamQuota       = "upstream_quota_exhausted"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeUpstreamBadRequest  = "upstream_bad_request"
	CodeUpstreamBadResponse = "upstream_bad_response"
	CodeUpstreamModel       = "upstream_model_not_found"
	CodeImageTooLarge       = "upstream_image_too_large"
)

// UpstreamError is an error as the upstream reported it, before mapping.
type UpstreamError struct {
	Provider  string
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *UpstreamError) Error() string {
	s := fmt.Sprintf("%s: upstream error %d %s", e.Provider, e.Status, e.Code)
	if e.Message != "" {
		s += ": " + sanitize(e.Message)
	}
	if e.RequestID != "" {
		s += " [request_id " + e.RequestID + "]"
	}
	return s
}

// mapError turns an upstream error into the gateway's typed error. Moderation blocks are
// content_filter and never retried; credential, availability and rate problems are retryable
// on another provider of the same jurisdiction.
func mapError(e *UpstreamError) *apierr.Error {
	lc := strings.ToLower(e.Code)
	var out *apierr.Error
	switch {
	case lc == "datainspectionfailed" || lc == "data_inspection_failed" || lc == "content_policy_violation" ||
		strings.HasPrefix(lc, "ipinfringementsuspect"):
		out = apierr.ContentFilter("the model provider's content moderation blocked this image request")
	case lc == "throttling.allocationquota" || lc == "insufficient_quota" || lc == "arrearage":
		out = apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, CodeUpstreamQuota,
			"the model provider's quota for this service is used up")
	case strings.HasPrefix(lc, "throttling") || lc == "rate_limit_exceeded" || e.Status == http.StatusTooManyRequests:
		out = apierr.New(http.StatusTooManyRequests, apierr.TypeRateLimit, CodeUpstreamRateLimited,
			"the model provider is rate limiting requests; try again shortly")
		out.Retryable = true
	case lc == "invalidapikey" || lc == "invalid_api_key" || e.Status == http.StatusUnauthorized:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamAuth,
			"the model provider rejected the gateway's upstream credential")
		out.Retryable = true
	case strings.HasPrefix(lc, "accessdenied") || e.Status == http.StatusForbidden:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamAccess,
			"the model provider denied access to this model for the gateway's account")
		out.Retryable = true
	case lc == "modelnotfound" || lc == "model_not_found" || e.Status == http.StatusNotFound:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamModel,
			"the model provider does not know the configured model")
		out.Retryable = true
	case lc == "requesttimeout" || e.Status == http.StatusRequestTimeout || e.Status == http.StatusGatewayTimeout:
		out = apierr.New(http.StatusGatewayTimeout, apierr.TypeAPI, CodeUpstreamTimeout, "the model provider timed out")
		out.Retryable = true
	case strings.HasPrefix(lc, "internalerror") || lc == "server_error" || e.Status >= 500:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamUnavailable, "the model provider failed to answer")
		out.Retryable = true
	case e.Status == http.StatusBadRequest || strings.HasPrefix(lc, "invalidparameter") ||
		strings.HasPrefix(lc, "badrequest") || lc == "invalid_parameter_error" || lc == "invalid_request_error":
		msg := "the model provider rejected the request"
		if m := sanitize(e.Message); m != "" {
			msg += ": " + m
		}
		out = apierr.BadRequest(CodeUpstreamBadRequest, msg)
	default:
		out = apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamBadResponse,
			fmt.Sprintf("the model provider answered with an unexpected error (HTTP %d, %s)", e.Status, sanitize(e.Code)))
	}
	return out.WithCause(e)
}

// badResponse is an answer the adapter cannot use.
func badResponse(provider string, err error) *apierr.Error {
	return apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamBadResponse,
		"the model provider's answer could not be used").WithCause(fmt.Errorf("%s: %w", provider, err))
}

// transportError maps a failed HTTP exchange (connect, reset, deadline).
func transportError(provider string, err error, retryable bool) *apierr.Error {
	e := apierr.New(http.StatusBadGateway, apierr.TypeAPI, CodeUpstreamUnavailable, "the model provider could not be reached")
	if errors.Is(err, errDeadline) {
		e = apierr.New(http.StatusGatewayTimeout, apierr.TypeAPI, CodeUpstreamTimeout,
			"the model provider did not finish the image in time")
	}
	e.Retryable = retryable
	return e.WithCause(fmt.Errorf("%s: %w", provider, err))
}

var errDeadline = errors.New("imagegen: max_wait exceeded")

// sanitize makes an upstream message fit to show: no control characters, at most 200 runes.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
