// dashboard-check validates Grafana dashboard JSON files against Grafana's own dashboard model, as published
// in the Apache-2.0 grafana-foundation-sdk (the AGPL grafana module itself is never used): strict decoding
// (unknown or mistyped fields are errors, panel options and field config decoded by the registered panel
// plugins) followed by the model's Validate() (required fields, enums, nested panels and targets).
//
// Usage: go run . FILE...   (exit 1 and one line per problem if any file fails)
package main

import (
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func check(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var d dashboard.Dashboard
	if err := orNil(d.UnmarshalJSONStrict(raw)); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	if err := orNil(d.Validate()); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	fmt.Printf("ok %s: %q, %d panels\n", path, deref(d.Title), len(d.Panels))
	return nil
}

// orNil maps the SDK's "no error" to nil: its generated code returns a nil cog.BuildErrors slice, which as an
// error interface is non-nil (with an empty message).
func orNil(err error) error {
	if be, ok := err.(cog.BuildErrors); ok && len(be) == 0 {
		return nil
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dashboard-check FILE...")
		os.Exit(2)
	}
	// Panel options/fieldConfig and query targets are decoded (strictly) only for registered plugins.
	plugins.RegisterDefaultPlugins()
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
