package gateway

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/qiao-gateway/qiao/internal/apierr"
	"github.com/qiao-gateway/qiao/internal/chat"
	"github.com/qiao-gateway/qiao/internal/config"
	"github.com/qiao-gateway/qiao/internal/imagegen"
	imgsim "github.com/qiao-gateway/qiao/internal/imagegen/sim"
	"github.com/qiao-gateway/qiao/internal/label"
	"github.com/qiao-gateway/qiao/internal/server"
)

// ImageAlias is the model alias of image generation when a request names none.
const ImageAlias = "image"

// imageTarget is one image upstream for an alias.
type imageTarget struct {
	provider string
	model    string
	p        imagegen.Provider
}

// images serves image generation and image labelling.
type images struct {
	routes    map[string]map[string][]imageTarget // region -> alias -> targets
	labelers  map[string]*label.Labeler           // region -> labeler (nil: no labels)
	maxBytes  int
	auditHook func(ctx context.Context, ex *server.Exchange) error
}

// buildImages makes an image provider for every provider an image route names. Image
// routes are the region's model aliases whose targets are image models; by convention the
// alias "image" (and any alias starting with "image").
func (g *Gateway) buildImages(cfg *config.File, opts Options) (*images, error) {
	im := &images{routes: map[string]map[string][]imageTarget{}, labelers: map[string]*label.Labeler{}, maxBytes: 20 << 20}
	made := map[string]imagegen.Provider{}
	for _, region := range sortedKeys(cfg.Regions) {
		rc := cfg.Regions[region]
		for alias, targets := range rc.Models {
			if !strings.HasPrefix(alias, ImageAlias) {
				continue
			}
			for _, t := range targets {
				pname, model, _ := cut(t)
				p, ok := made[pname]
				if !ok {
					var err error
					p, err = g.imageProvider(pname, cfg.Providers[pname], opts)
					if err != nil {
						return nil, err
					}
					made[pname] = p
				}
				if p == nil {
					continue // no key and not simulating: reported already
				}
				if im.routes[region] == nil {
					im.routes[region] = map[string][]imageTarget{}
				}
				im.routes[region][alias] = append(im.routes[region][alias], imageTarget{provider: pname, model: model, p: p})
			}
		}
	}
	return im, nil
}

func (g *Gateway) imageProvider(name string, pc config.ProviderConfig, opts Options) (imagegen.Provider, error) {
	ic := imagegen.Config{Name: name, Kind: pc.Kind, BaseURL: pc.BaseURL, APIKeyEnv: pc.APIKeyEnv, Jurisdiction: pc.Jurisdiction}
	getenv := opts.Getenv
	if strings.TrimSpace(getenv(pc.APIKeyEnv)) == "" {
		if !opts.Simulate {
			g.notice("image provider %s: $%s is not set: image routes through it are off", name, pc.APIKeyEnv)
			return nil, nil
		}
		var h http.Handler = imgsim.NewOpenAI("")
		if pc.Kind == imagegen.KindDashScope {
			h = imgsim.NewDashScope("")
		}
		url, err := g.serveLoopback(h)
		if err != nil {
			return nil, fmt.Errorf("gateway: image simulator for %s: %w", name, err)
		}
		if pc.Kind == imagegen.KindOpenAI {
			url += "/v1"
		}
		ic.BaseURL = url
		getenv = func(k string) string {
			if k == pc.APIKeyEnv {
				return "sk-simulated"
			}
			return opts.Getenv(k)
		}
		g.notice("image provider %s: served by the built-in %s image simulator at %s (pictures are generated patterns, not model output)", name, pc.Kind, url)
	}
	p, err := imagegen.New(ic, imagegen.Options{Getenv: getenv})
	if err != nil {
		return nil, fmt.Errorf("gateway: image provider %s: %w", name, err)
	}
	return p, nil
}

// serveLoopback serves h on a fresh loopback port until the gateway closes.
func (g *Gateway) serveLoopback(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	g.onClose(srv.Close)
	return "http://" + ln.Addr().String(), nil
}

// generate serves POST /v1/images/generations (OpenAI shape). Every image is labelled both
// ways (visible mark and XMP) in regions with a label profile and returned as b64_json.
func (im *images) generate(w http.ResponseWriter, r *http.Request, ex *server.Exchange) error {
	var in struct {
		Model          string `json:"model"`
		Prompt         string `json:"prompt"`
		N              int    `json:"n"`
		Size           string `json:"size"`
		ResponseFormat string `json:"response_format"`
		Quality        string `json:"quality"`
		Style          string `json:"style"`
		User           string `json:"user"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ex.MarkAuditable()
	if in.ResponseFormat != "" && in.ResponseFormat != "b64_json" {
		return apierr.BadRequest("unsupported_value", "only response_format b64_json is supported: images are labelled by the gateway and returned inline").WithParam("response_format")
	}
	alias := in.Model
	if alias == "" {
		alias = ImageAlias
	}
	ex.Alias = alias
	ex.PromptText = in.Prompt
	targets := im.routes[ex.Region][alias]
	if len(targets) == 0 {
		return apierr.New(http.StatusNotFound, apierr.TypeNotFound, "model_not_found",
			fmt.Sprintf("no image model %q in region %s", alias, ex.Region)).WithParam("model")
	}
	// The prompt goes through the same request-side stages as a chat message.
	req := &chat.Request{Model: alias, Messages: []chat.Message{{Role: chat.RoleUser, Content: in.Prompt}}}
	if p := ex.Profile; p.Protect != nil {
		prot, err := p.Protect(req)
		ex.Privacy, ex.Pseudonyms = prot.Counts, prot.Pseudonyms
		if err != nil {
			return err
		}
	}
	if p := ex.Profile; p.CheckInput != nil {
		refusal, err := p.CheckInput(r.Context(), ex, req)
		if err != nil {
			return err
		}
		if refusal != nil {
			resp, _ := chat.Collect(refusal)
			return apierr.ContentFilter(resp.Message.Content)
		}
	}
	var imgs []imagegen.Image
	var lastErr error
	for _, t := range targets {
		var err error
		imgs, err = t.p.Generate(r.Context(), imagegen.Request{Model: t.model, Prompt: req.Messages[0].Content, N: in.N, Size: in.Size})
		if err == nil {
			ex.Provider, ex.Model = t.provider, t.model
			w.Header().Set("X-Qiao-Provider", t.provider)
			break
		}
		lastErr = err
		if !apierr.IsRetryable(err) {
			return err
		}
	}
	if imgs == nil {
		return apierr.New(http.StatusServiceUnavailable, apierr.TypeAPI, apierr.CodeNoEligibleProvider,
			fmt.Sprintf("no image provider allowed for region %s could serve %q", ex.Region, alias)).WithCause(lastErr)
	}
	type datum struct {
		B64JSON       string `json:"b64_json"`
		RevisedPrompt string `json:"revised_prompt,omitempty"`
	}
	out := struct {
		Created int64            `json:"created"`
		Data    []datum          `json:"data"`
		AIGC    []label.Implicit `json:"aigc,omitempty"`
	}{Created: ex.Start.Unix()}
	lab := im.labelers[ex.Region]
	for _, img := range imgs {
		data := img.Data
		if lab != nil {
			labelled, imp, err := lab.LabelImage(data, label.ImageOptions{Visible: true})
			if err != nil {
				// Fail closed: an image that cannot be labelled is not served.
				return apierr.New(http.StatusBadGateway, apierr.TypeAPI, "label_failed", "a generated image could not be labelled, so it is not served").WithCause(err)
			}
			data = labelled
			out.AIGC = append(out.AIGC, imp)
			if ex.ProduceID == "" {
				ex.ProduceID = imp.ProduceID
			}
		}
		out.Data = append(out.Data, datum{B64JSON: base64.StdEncoding.EncodeToString(data), RevisedPrompt: img.RevisedPrompt})
	}
	ex.Status = http.StatusOK
	if err := im.auditHook(r.Context(), ex); err != nil {
		ex.Status = 0
		return err
	}
	return server.WriteJSON(w, http.StatusOK, out)
}

// labelImage serves POST /v1/labels/image: the body is a PNG or JPEG; the answer is the same
// image labelled with the region's implicit label (XMP) and, unless ?visible=false, the
// visible mark at ?corner= (bottom-right by default). The implicit label is also returned in
// the X-Qiao-AIGC header.
func (im *images) labelImage(w http.ResponseWriter, r *http.Request, ex *server.Exchange) error {
	lab := im.labelers[ex.Region]
	if lab == nil {
		return apierr.BadRequest("label_not_configured", fmt.Sprintf("region %s has no label profile", ex.Region))
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, int64(im.maxBytes)+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || len(data) > im.maxBytes:
		return apierr.New(http.StatusRequestEntityTooLarge, apierr.TypeInvalidRequest, "image_too_large", "the image is larger than the limit").WithCause(err)
	case err != nil:
		return apierr.BadRequest("body_read_failed", "could not read the image").WithCause(err)
	case len(data) == 0:
		return apierr.BadRequest("missing_image", "send the PNG or JPEG image as the request body")
	}
	visible := true
	if v := r.URL.Query().Get("visible"); v != "" {
		if visible, err = strconv.ParseBool(v); err != nil {
			return apierr.BadRequest("invalid_value", "visible must be true or false").WithParam("visible")
		}
	}
	corner, err := label.ParseCorner(r.URL.Query().Get("corner"))
	if err != nil {
		return apierr.BadRequest("invalid_value", err.Error()).WithParam("corner")
	}
	out, imp, err := lab.LabelImage(data, label.ImageOptions{Visible: visible, Corner: corner, MaxBytes: im.maxBytes})
	if err != nil {
		return err
	}
	ex.ProduceID = imp.ProduceID
	w.Header().Set("Content-Type", "image/"+label.DetectFormat(out))
	w.Header().Set("X-Qiao-AIGC", string(imp.JSON()))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	return nil
}
