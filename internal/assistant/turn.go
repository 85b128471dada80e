// Package assistant answers assistant turns: a spoken or typed request from a device, the
// device's clock and the actions (App Intents) it can perform. Frequent requests (alarms,
// timers, reminders, calendar, calls, messages, apps, settings, arithmetic, units, dates)
// are understood by rules without a model call; everything else goes through the gateway
// pipeline to the region's model, with the device's intents offered as tools.
package assistant

import (
	"encoding/json"
	"time"
)

// Canonical intent names the fast path produces. A device that declares an intent with one
// of these names receives actions with the parameters documented in docs/assistant.md.
const (
	IntentSetAlarm       = "set_alarm"
	IntentSetTimer       = "set_timer"
	IntentCreateReminder = "create_reminder"
	IntentCreateEvent    = "create_event"
	IntentCall           = "call"
	IntentSendMessage    = "send_message"
	IntentOpenApp        = "open_app"
	IntentChangeSetting  = "change_setting"
)

// Answer intents: Qiao answers these itself; they produce text, never actions, and need
// no declaration by the device.
const (
	AnswerCalculate = "calculate"
	AnswerConvert   = "convert_units"
	AnswerDateTime  = "date_time"
	// AnswerClarify is a question back to the user (missing or impossible time, missing
	// message text); the turn expects a follow-up.
	AnswerClarify = "clarify"
)

// Paths a turn can take.
const (
	PathFast  = "fast"
	PathModel = "model"
)

// TurnRequest is the body of POST /v1/assistant/turns.
type TurnRequest struct {
	// Utterance is what the user said or typed.
	Utterance string `json:"utterance"`
	// Locale is a BCP 47 tag such as zh-CN, zh-TW, en-US.
	Locale string `json:"locale"`
	// Device is the device's context: time zone, clock, optional coarse location.
	Device Device `json:"device"`
	// Intents are the actions the device can perform (App Intents shape).
	Intents []Intent `json:"intents"`
	// ConversationID continues an earlier conversation; empty starts a new one.
	ConversationID string `json:"conversation_id,omitempty"`
	// Stream asks for Server-Sent Events (see docs/assistant.md).
	Stream bool `json:"stream,omitempty"`
}

// Device is the device context of a turn.
type Device struct {
	// TimeZone is an IANA zone name, e.g. "Asia/Shanghai".
	TimeZone string `json:"time_zone"`
	// Now is the device's clock in RFC 3339; empty means the server's clock.
	Now string `json:"now,omitempty"`
	// Location is optional and used only when Consent is true.
	Location *Location `json:"location,omitempty"`
}

// Location is a coarse location. It is rounded to 0.1° (about 10 km) before it is used,
// and only when the user consented.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	City      string  `json:"city,omitempty"`
	Consent   bool    `json:"consent"`
}

// Intent is one action the device can perform.
type Intent struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"` // JSON schema of type object
}

// Action is an intent the device should perform.
type Action struct {
	Intent     string          `json:"intent"`
	Parameters json.RawMessage `json:"parameters"`
	// NeedsConfirmation asks the device to confirm with the user first (calls, messages).
	NeedsConfirmation bool `json:"needs_confirmation"`
}

// TurnResponse is the answer to a turn.
type TurnResponse struct {
	ConversationID string `json:"conversation_id"`
	// Path is "fast" (rules, no model) or "model".
	Path string `json:"path"`
	// Intent is what the fast path understood (an action intent or an answer intent);
	// empty on the model path.
	Intent string `json:"intent,omitempty"`
	// DisplayText is the text to show; SpeechText is shorter and has no markdown.
	DisplayText string   `json:"display_text"`
	SpeechText  string   `json:"speech_text"`
	Actions     []Action `json:"actions"`
	// ExpectFollowUp is true when the assistant asked a question.
	ExpectFollowUp bool `json:"expect_follow_up"`
	// Label, PrivacyReceipt and Filing are what the gateway decided for a model answer
	// (see Meta); fast-path answers carry the region's filing information only.
	Label          json.RawMessage `json:"label,omitempty"`
	PrivacyReceipt string          `json:"privacy_receipt,omitempty"`
	Filing         string          `json:"filing,omitempty"`
}

// turn is a validated request.
type turn struct {
	req      *TurnRequest
	lang     string // "zh" or "en"
	now      time.Time
	declared map[string]*Intent
	schemas  map[string]*schema
}
