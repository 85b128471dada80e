// Package sim holds protocol-faithful simulators of image-generation upstreams, for tests,
// demos and `qiao sim`: DashScope's asynchronous image-synthesis tasks (submit, then
// PENDING → RUNNING → SUCCEEDED over a few polls, results served as URLs on the same server)
// and OpenAI-compatible /v1/images/generations (b64_json or url). The pictures are real PNGs
// of the requested size: a diagonal gradient and a disc in colours derived from the prompt.
//
// Prompts may carry directives that make the simulator misbehave the way the real services
// do: "sim:block" (moderation refusal at submit), "sim:fail" (the task FAILS), "sim:never"
// (the task never finishes), "sim:partial" (the first of several images fails), "sim:huge"
// (the image is padded past any sane size limit).
package sim

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/png"
	"strconv"
)

// Picture returns a w×h PNG for prompt; index varies images of one request. Same inputs, same
// bytes.
func Picture(prompt string, index, w, h int) []byte {
	sum := sha256.Sum256([]byte(prompt + "\x00" + strconv.Itoa(index)))
	c1 := color.NRGBA{sum[0], sum[1], sum[2], 255}
	c2 := color.NRGBA{255 - sum[0], 255 - sum[1], 255 - sum[2], 255}
	disc := color.NRGBA{sum[3], sum[4], sum[5], 255}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w/2, h/2, min(w, h)/4
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			c := c1
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= r*r {
				c = disc
			} else {
				t := (x + y) * 255 / max(1, w+h-2)
				c.R = uint8((int(c1.R)*(255-t) + int(c2.R)*t) / 255)
				c.G = uint8((int(c1.G)*(255-t) + int(c2.G)*t) / 255)
				c.B = uint8((int(c1.B)*(255-t) + int(c2.B)*t) / 255)
			}
			p := row[x*4:]
			p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	_ = enc.Encode(&b, img) // writing to a bytes.Buffer does not fail
	return b.Bytes()
}
