package privacy_test

import (
	"fmt"

	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/privacy"
)

func ExampleEngine_Protect() {
	eng, err := privacy.New(privacy.DefaultConfig("CN"))
	if err != nil {
		panic(err)
	}
	req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser,
		Content: "我叫张伟，手机13812345678，帮我给客服写封邮件。"}}}
	vault, receipt, err := eng.Protect(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(req.Messages[0].Content)
	fmt.Println(receipt.Header())

	// The model answers with the placeholders, split anywhere across chunks.
	answer := chat.NewSliceStream(
		chat.Chunk{Delta: chat.Delta{Content: "好的，[NA"}},
		chat.Chunk{Delta: chat.Delta{Content: "ME_1]，我会在邮件里留下您的电话[PHONE_1]。"}},
		chat.Chunk{FinishReason: chat.FinishStop},
	)
	resp, err := chat.Collect(vault.Restore(answer))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Message.Content)
	// Output:
	// 我叫[NAME_1]，手机[PHONE_1]，帮我给客服写封邮件。
	// {"name":1,"phone":1}
	// 好的，张伟，我会在邮件里留下您的电话13812345678。
}
