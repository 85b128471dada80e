package label

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/qiao-gateway/qiao/internal/apierr"
)

// ParseCorner parses "bottom-right" (also ""), "bottom-left", "top-right" or "top-left".
func ParseCorner(s string) (Corner, error) {
	switch s {
	case "", "bottom-right":
		return BottomRight, nil
	case "bottom-left":
		return BottomLeft, nil
	case "top-right":
		return TopRight, nil
	case "top-left":
		return TopLeft, nil
	}
	return 0, fmt.Errorf("label: corner %q: want bottom-right, bottom-left, top-right or top-left", s)
}

// ImageHandler serves POST /v1/labels/image: the request body is a PNG or JPEG, the answer the
// same image labelled (XMP record and, unless ?visible=false, the mark at ?corner=), with the
// record in the X-AIGC header as compact JSON. Errors are OpenAI-shaped (apierr.Write).
func (l *Labeler) ImageHandler(opts ImageOptions) http.Handler {
	opts = opts.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			apierr.Write(w, apierr.New(http.StatusMethodNotAllowed, apierr.TypeInvalidRequest, "method_not_allowed", "use POST with the image as the body"))
			return
		}
		o := opts
		q := r.URL.Query()
		if v := q.Get("visible"); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				apierr.Write(w, apierr.BadRequest("invalid_parameter", "visible must be true or false").WithParam("visible"))
				return
			}
			o.Visible = b
		} else {
			o.Visible = true
		}
		c, err := ParseCorner(q.Get("corner"))
		if err != nil {
			apierr.Write(w, apierr.BadRequest("invalid_parameter", err.Error()).WithParam("corner"))
			return
		}
		o.Corner = c
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(o.MaxBytes)))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				apierr.Write(w, tooLarge(fmt.Sprintf("the image is larger than the limit of %d bytes", o.MaxBytes)))
				return
			}
			apierr.Write(w, apierr.BadRequest(CodeInvalidImage, "the image could not be read").WithCause(err))
			return
		}
		out, imp, err := l.LabelImage(data, o)
		if err != nil {
			apierr.Write(w, err)
			return
		}
		ct := "image/png"
		if DetectFormat(out) == FormatJPEG {
			ct = "image/jpeg"
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.Header().Set("X-AIGC", string(imp.JSON()))
		_, _ = w.Write(out)
	})
}
