package privacy

import (
	"strings"
	"testing"

	"github.com/qiao-gateway/qiao/internal/chat"
)

// piiFree is ordinary mixed Chinese and English prose with numbers, dates and prices but no
// personal data.
const piiFree = "请帮我总结一下这篇文章的主要观点，并给出三条改进建议。文章讨论了2023年第三季度的销售数据，" +
	"总收入为1,388.50万元，同比增长12.5%。The report covers Q3 2023 revenue, growth of 12.5% and version 3.14.2 of the app. " +
	"会议定于下午14:30开始，地点在公司三楼会议室，预计持续90分钟。我们需要讨论产品路线图、市场推广计划以及人员招聘。"

// piiDense packs a value of most types into every sentence.
const piiDense = "我叫张伟，身份证11010519491231002X，手机13812345678，座机010-65529988，" +
	"卡号6222 0210 0112 2334 3，邮箱zhang.wei@example.com，住在北京市朝阳区建国路88号院3号楼2单元401室，" +
	"车牌京A12345，公司税号91350100M000100Y43，服务器192.168.10.25。Card 4111 1111 1111 1111, SSN 123-45-6789, +44 20 7946 0958. "

func repeatTo(s string, n int) string {
	return strings.Repeat(s, n/len(s)+1)[:n]
}

func benchDetect(b *testing.B, text string) {
	e := cnEngine(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Detect(text)
	}
}

// BenchmarkDetectPIIFree and BenchmarkDetectPIIDense measure detection throughput on 64 KB
// of text (MB/s per core).
func BenchmarkDetectPIIFree(b *testing.B)  { benchDetect(b, repeatTo(piiFree, 64<<10)) }
func BenchmarkDetectPIIDense(b *testing.B) { benchDetect(b, repeatTo(piiDense, 64<<10)) }

// BenchmarkProtect2KB is the latency Protect adds to a 2 KB prompt (ns/op), PII-free and dense.
func BenchmarkProtect2KB(b *testing.B) {
	for _, tc := range []struct{ name, text string }{{"free", piiFree}, {"dense", piiDense}} {
		b.Run(tc.name, func(b *testing.B) {
			e := cnEngine(b)
			text := repeatTo(tc.text, 2048)
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				req := &chat.Request{Messages: []chat.Message{{Role: chat.RoleUser, Content: text}}}
				if _, _, err := e.Protect(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRestoreStream is the restorer over a 200-chunk streamed answer.
func BenchmarkRestoreStream(b *testing.B) {
	v := testVault(b)
	chunks := make([]chat.Chunk, 200)
	for i := range chunks {
		s := "好的，您的电话"
		if i%10 == 0 {
			s = "[PHONE_1]"
		}
		chunks[i] = chat.Chunk{Delta: chat.Delta{Content: s}}
	}
	b.ReportAllocs()
	for b.Loop() {
		s := v.Restore(chat.NewSliceStream(chunks...))
		if _, err := chat.Collect(s); err != nil {
			b.Fatal(err)
		}
	}
}
