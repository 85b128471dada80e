package main

import (
	"context"
	"errors"
)

type notYet struct{ name string }

func (n notYet) run(context.Context, *Main) error { return errors.New(n.name + ": not built yet") }

func parseEval(m *Main, args []string) (command, error) { return notYet{"eval"}, nil }
