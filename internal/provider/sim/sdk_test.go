package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/qiao-gateway/qiao/internal/provider/sim"
)

// TestOpenAISDK talks to the OpenAI-compatible simulator with the official Go SDK, an
// independent client: if the SDK reads the stream, the simulator's framing is right.
func TestOpenAISDK(t *testing.T) {
	s := sim.NewOpenAI(sim.Options{APIKeys: []string{"sk-sdk"}})
	defer s.Close()
	client := openai.NewClient(option.WithBaseURL(s.URL()), option.WithAPIKey("sk-sdk"), option.WithMaxRetries(0))

	params := openai.ChatCompletionNewParams{
		Model:         "qwen3-max",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("你好，模拟器")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	params.SetExtraFields(map[string]any{"enable_thinking": true})
	stream := client.Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	var reasoning strings.Builder
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) > 0 {
			if f, ok := c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok && f.Raw() != "null" {
				reasoning.WriteString(strings.Trim(f.Raw(), `"`))
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if got := acc.Choices[0].Message.Content; !strings.Contains(got, "«你好，模拟器»") {
		t.Errorf("content = %q", got)
	}
	if !strings.HasPrefix(reasoning.String(), "模拟思考") {
		t.Errorf("reasoning = %q", reasoning.String())
	}
	if acc.Usage.PromptTokens == 0 || acc.Usage.CompletionTokens == 0 {
		t.Errorf("usage = %+v", acc.Usage)
	}

	// Output moderation mid-stream surfaces as the SDK's stream error.
	blocked := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "qwen-plus", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x [[sim:block]]")}})
	for blocked.Next() {
	}
	if err := blocked.Err(); err == nil || !strings.Contains(err.Error(), "data_inspection_failed") {
		t.Errorf("blocked stream err = %v", err)
	}

	// A non-streaming call and a wrong key.
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "qwen-plus", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}})
	if err != nil || !strings.Contains(resp.Choices[0].Message.Content, "«hello»") {
		t.Errorf("non-streaming: %v %+v", err, resp)
	}
	bad := openai.NewClient(option.WithBaseURL(s.URL()), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
	_, err = bad.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "qwen-plus", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("wrong key: %v", err)
	}
}
