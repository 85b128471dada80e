// Command qiao is the Qiao gateway: one OpenAI-compatible API in front of region-bound model
// providers, with privacy, safety, labels and an audit log per region. Run `qiao help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	m := NewMain()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := m.ParseFlags(os.Args[1:])
	if err == nil {
		err = m.Run(ctx)
	}
	stop()
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errSilent):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "qiao:", err)
		os.Exit(1)
	}
}

// errSilent means the command already explained its failure; exit non-zero quietly.
var errSilent = errors.New("failed")

// Main is the program, shared with end-to-end tests: they build one, set its fields, and
// call ParseFlags, Run and Close as main does.
type Main struct {
	Stdout, Stderr io.Writer
	// Getenv reads the environment (tests inject their own).
	Getenv func(string) string
	// Listening, if set, is called with the server's address once it accepts connections.
	Listening func(addr string)

	cmd     command
	closers []func() error
}

// command is one subcommand, with its flags already parsed.
type command interface {
	run(ctx context.Context, m *Main) error
}

// NewMain returns a Main wired to the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

const usage = `qiao — one AI API, local rules everywhere.

Usage: qiao <command> [flags]

Commands:
  demo          run the gateway on built-in defaults with simulated upstreams and demo keys
  serve         run the gateway
  sim           run a protocol-faithful provider simulator (dashscope or openai)
  keys          create, list or revoke API keys (create | list | revoke)
  config check  validate a configuration file and explain each error with its line
  eval          run a safety question bank through the full pipeline
  audit         verify, export or purge the audit log (verify | export | purge)
  label         label or verify images, make signing keys (image | verify | keygen)
  version       print the version

Run 'qiao <command> -h' for a command's flags.
`

// ParseFlags selects the subcommand and parses its flags.
func (m *Main) ParseFlags(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errSilent
	}
	name, rest := args[0], args[1:]
	var err error
	switch name {
	case "demo":
		m.cmd, err = parseDemo(m, rest)
	case "serve":
		m.cmd, err = parseServe(m, rest)
	case "sim":
		m.cmd, err = parseSim(m, rest)
	case "keys":
		m.cmd, err = parseKeys(m, rest)
	case "config":
		m.cmd, err = parseConfig(m, rest)
	case "eval":
		m.cmd, err = parseEval(m, rest)
	case "audit":
		m.cmd, err = parseAudit(m, rest)
	case "label":
		m.cmd, err = parseLabel(m, rest)
	case "version", "-version", "--version":
		m.cmd = versionCmd{}
	case "help", "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage)
		return flag.ErrHelp
	default:
		fmt.Fprintf(m.Stderr, "qiao: unknown command %q\n\n%s", name, usage)
		return errSilent
	}
	return err
}

// Run runs the selected command until it finishes or ctx is cancelled.
func (m *Main) Run(ctx context.Context) error {
	if m.cmd == nil {
		return errors.New("no command: call ParseFlags first")
	}
	return m.cmd.run(ctx, m)
}

// Close releases everything the command opened.
func (m *Main) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i]())
	}
	m.closers = nil
	return errors.Join(errs...)
}

func (m *Main) onClose(f func() error) { m.closers = append(m.closers, f) }

// newFlagSet returns a flag set that reports to m.Stderr and returns errors instead of
// exiting.
func (m *Main) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: qiao %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

type versionCmd struct{}

func (versionCmd) run(_ context.Context, m *Main) error {
	fmt.Fprintf(m.Stdout, "qiao %s\n", Version)
	return nil
}
