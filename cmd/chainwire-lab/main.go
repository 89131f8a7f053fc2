// Command chainwire-lab emulates hypervisors on this machine with network
// namespaces and real Open vSwitch instances (see package e2e/lab).
//
//	chainwire-lab up -f LAB.yaml [--name NAME]   build the lab, start one agent per host
//	chainwire-lab exec [--name NAME] MEMBER -- CMD...   run CMD in a VM, VNF or host namespace
//	chainwire-lab env [--name NAME]              print CHAINWIRE_DB for chainctl
//	chainwire-lab down [--name NAME]             stop everything and remove it
//	chainwire-lab demo                           the end-to-end demonstration (make demo)
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/chainwire/chainwire/e2e/lab"
)

const stateRoot = "/run/chainwire-lab"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chainwire-lab:", err)
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: chainwire-lab up -f LAB.yaml | exec MEMBER -- CMD... | env | down | demo  [--name NAME]")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	name := fs.String("name", "default", "lab name (several labs can run side by side)")
	file := fs.String("f", "", "lab description (YAML)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	base := filepath.Join(stateRoot, *name)
	switch args[0] {
	case "up":
		if *file == "" {
			return errors.New("up needs -f LAB.yaml")
		}
		if _, err := os.Stat(filepath.Join(base, "state.json")); err == nil {
			return fmt.Errorf("lab %q is already up (chainwire-lab down --name %s)", *name, *name)
		}
		cfg, err := lab.LoadConfig(*file)
		if err != nil {
			return err
		}
		l, err := lab.Up(cfg, lab.Options{Base: base})
		if err != nil {
			return err
		}
		fmt.Printf("lab %q is up; its model is %s\nexport CHAINWIRE_DB=%s\n", *name, l.DB, l.DB)
		return nil
	case "exec":
		rest := fs.Args()
		if len(rest) > 1 && rest[1] == "--" {
			rest = append(rest[:1], rest[2:]...)
		}
		if len(rest) < 2 {
			return usage()
		}
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		cmd := l.Command(rest[0], rest[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				os.Exit(ee.ExitCode())
			}
			return err
		}
		return nil
	case "env":
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		fmt.Printf("export CHAINWIRE_DB=%s\n", l.DB)
		return nil
	case "down":
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		return l.Down()
	case "demo":
		return demo()
	}
	return usage()
}
