package upstream

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func readAll(r io.Reader) ([]Event, error) {
	s := NewSSEReader(r)
	var evs []Event
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		ev.Data = bytes.Clone(ev.Data) // valid only until the next call
		evs = append(evs, ev)
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Event
	}{
		{name: "dashscope framing", in: "id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"a\":1}\n\n",
			want: []Event{{ID: "1", Type: "result", HTTPStatus: 200, Data: []byte(`{"a":1}`)}}},
		{name: "error event", in: "id:1\nevent:error\n:HTTP_STATUS/400\ndata:{}\n\n",
			want: []Event{{ID: "1", Type: "error", HTTPStatus: 400, Data: []byte(`{}`)}}},
		{name: "openai framing", in: "data: {\"b\":2}\n\ndata: [DONE]\n\n",
			want: []Event{{Data: []byte(`{"b":2}`)}, {Data: []byte(`[DONE]`)}}},
		{name: "only one space is stripped", in: "data:  two\n\n", want: []Event{{Data: []byte(" two")}}},
		{name: "crlf", in: "data: x\r\n\r\n", want: []Event{{Data: []byte("x")}}},
		{name: "multi-line data", in: "data: a\ndata: b\n\n", want: []Event{{Data: []byte("a\nb")}}},
		{name: "comment only block", in: ": ping\n\n", want: []Event{{}}},
		{name: "empty data", in: "data:\n\ndata\n\n", want: []Event{{Data: []byte{}}, {Data: []byte{}}}},
		{name: "no final blank line", in: "data: last", want: []Event{{Data: []byte("last")}}},
		{name: "unknown fields ignored", in: "retry: 10\nfoo: bar\ndata: x\n\n", want: []Event{{Data: []byte("x")}}},
		{name: "bad status comment", in: ":HTTP_STATUS/abc\ndata: x\n\n", want: []Event{{Data: []byte("x")}}},
		{name: "empty", in: "", want: nil},
		{name: "blank lines only", in: "\n\n\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAll(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestSSEReaderLongLines(t *testing.T) {
	ok := "data: " + strings.Repeat("x", MaxLine-10) + "\n\n"
	evs, err := readAll(strings.NewReader(ok))
	if err != nil || len(evs) != 1 || len(evs[0].Data) != MaxLine-10 {
		t.Fatalf("a line just under the limit: %d events, err %v", len(evs), err)
	}
	_, err = readAll(strings.NewReader("data: " + strings.Repeat("x", MaxLine+1) + "\n\n"))
	if !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err = %v, want ErrLineTooLong", err)
	}
	many := strings.Repeat("data: "+strings.Repeat("y", 1000)+"\n", MaxLine/1000+2) + "\n"
	if _, err := readAll(strings.NewReader(many)); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("many data lines: err = %v, want ErrLineTooLong", err)
	}
}

func TestSSEReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := readAll(io.MultiReader(strings.NewReader("data: x\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{}\n\n"))
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n: c\n\ndata"))
	f.Fuzz(func(t *testing.T, data []byte) {
		whole, err1 := readAll(bytes.NewReader(data))
		bytewise, err2 := readAll(iotest.OneByteReader(bytes.NewReader(data)))
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if d := cmp.Diff(whole, bytewise); d != "" {
			t.Fatalf("byte-by-byte reading differs:\n%s", d)
		}
	})
}
