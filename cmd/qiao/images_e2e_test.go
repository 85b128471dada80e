package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/qiao-gateway/qiao/internal/imagegen/sim"
	"github.com/qiao-gateway/qiao/internal/label"
)

func TestE2EImageGenerationIsLabelled(t *testing.T) {
	e := startE2E(t)
	out, err := e.client("CN").Images.Generate(context.Background(), openai.ImageGenerateParams{
		Model: "image", Prompt: "一只在长城上看日出的熊猫", N: openai.Int(2), Size: "1024x1024",
		ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON,
	})
	if err != nil {
		t.Fatal(err)
	}
	if submits, _ := e.img.Counts(); len(out.Data) != 2 || submits != 1 {
		t.Fatalf("%d images, %d upstream tasks", len(out.Data), submits)
	}
	for i, d := range out.Data {
		img, err := base64.StdEncoding.DecodeString(d.B64JSON)
		if err != nil {
			t.Fatal(err)
		}
		imp, err := label.ReadImageLabel(img)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if imp.Label != "1" || imp.ContentProducer != "001191350100M000100Y4310000" {
			t.Errorf("image %d label %+v", i, imp)
		}
		path := filepath.Join(e.data, "gen.png")
		os.WriteFile(path, img, 0o600)
		if got := e.run("label", "verify", "--data", e.data, "--config", filepath.Join(e.data, "qiao.yaml"), path); !strings.Contains(got, "signature valid") {
			t.Errorf("qiao label verify: %s", got)
		}
		exiftoolHasLabel(t, path, imp.ProduceID)
	}
	if strings.Contains(out.RawJSON(), `"url"`) {
		t.Error("image returned as URL")
	}
}

// exiftoolHasLabel reads the label back with an independent tool.
func exiftoolHasLabel(t *testing.T, path, produceID string) {
	t.Helper()
	if _, err := exec.LookPath("exiftool"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("exiftool is required under CI (Debian package libimage-exiftool-perl)")
		}
		t.Log("exiftool not installed; skipping the independent read-back")
		return
	}
	out, err := exec.Command("exiftool", "-j", "-XMP-TC260:all", path).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	if !bytes.Contains(out, []byte(produceID)) {
		t.Errorf("exiftool does not see ProduceID %s: %s", produceID, out)
	}
}

func TestE2ELabelImageEndpoint(t *testing.T) {
	e := startE2E(t)
	png := sim.Picture("test", 0, 320, 200)
	req, _ := http.NewRequest("POST", e.base+"/v1/labels/image", bytes.NewReader(png))
	req.Header.Set("Authorization", "Bearer "+e.keys["CN"])
	req.Header.Set("Content-Type", "image/png")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body.String())
	}
	var hdr label.Implicit
	if err := json.Unmarshal([]byte(resp.Header.Get("X-Qiao-AIGC")), &hdr); err != nil {
		t.Fatal(err)
	}
	imp, err := label.ReadImageLabel(body.Bytes())
	if err != nil || imp.ProduceID != hdr.ProduceID {
		t.Fatalf("label in image %+v (%v), header %+v", imp, err, hdr)
	}
	// Not an image: a clear 4xx.
	req, _ = http.NewRequest("POST", e.base+"/v1/labels/image", strings.NewReader("GIF89a not really"))
	req.Header.Set("Authorization", "Bearer "+e.keys["CN"])
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode < 400 || resp2.StatusCode >= 500 {
		t.Errorf("unsupported format: status %d", resp2.StatusCode)
	}
	// US has no label profile.
	req, _ = http.NewRequest("POST", e.base+"/v1/labels/image", bytes.NewReader(png))
	req.Header.Set("Authorization", "Bearer "+e.keys["US"])
	resp3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp3.Body.Close()
	if resp3.StatusCode != 400 {
		t.Errorf("US label request: %d", resp3.StatusCode)
	}
}

func TestE2ETextLabelVerifies(t *testing.T) {
	e := startE2E(t)
	out, err := e.client("CN").Chat.Completions.New(context.Background(), chatParams("你好"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(e.data, "answer.json")
	os.WriteFile(path, []byte(out.RawJSON()), 0o600)
	cfg := filepath.Join(e.data, "qiao.yaml")
	if got := e.run("label", "verify", "--config", cfg, "--data", e.data, path); !strings.Contains(got, "OK   json") {
		t.Errorf("verify: %s", got)
	}
	// A tampered label fails.
	tampered := strings.Replace(out.RawJSON(), `"Label":"1"`, `"Label":"3"`, 1)
	os.WriteFile(path, []byte(tampered), 0o600)
	m := e.newMain()
	var buf bytes.Buffer
	m.Stdout = &buf
	if err := m.ParseFlags([]string{"label", "verify", "--config", cfg, "--data", e.data, path}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(buf.String(), "FAIL") {
		t.Errorf("tampered label accepted: %v %s", err, buf.String())
	}
}

func TestLabelImageCommand(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.png")
	os.WriteFile(in, sim.Picture("cli", 0, 400, 300), 0o600)
	env := map[string]string{"QIAO_LABEL_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	run := func(args ...string) (string, error) {
		var stdout bytes.Buffer
		m := &Main{Stdout: &stdout, Stderr: &bytes.Buffer{}, Getenv: func(k string) string { return env[k] }}
		err := m.ParseFlags(args)
		if err == nil {
			err = m.Run(context.Background())
		}
		m.Close()
		return stdout.String(), err
	}
	if _, err := run("label", "image", "--data", dir, in, out); err != nil {
		t.Fatal(err)
	}
	got, err := run("label", "verify", "--data", dir, out)
	if err != nil || !strings.Contains(got, "OK   image") {
		t.Fatalf("verify: %v %s", err, got)
	}
	imp, _ := label.ReadImageLabel(mustRead(t, out))
	exiftoolHasLabel(t, out, imp.ProduceID)
	// Another key does not verify it.
	env["QIAO_LABEL_KEY"] = "HwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	if got, err := run("label", "verify", "--data", dir, out); err == nil || !strings.Contains(got, "FAIL") {
		t.Errorf("verified with the wrong key: %v %s", err, got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
