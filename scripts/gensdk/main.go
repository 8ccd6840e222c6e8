// Command gensdk writes the TypeScript or Go SDK of a Pulumi package from its schema, with
// the code generators of github.com/pulumi/pulumi/pkg/v3: the ones Pulumi's current
// language hosts call for `pulumi package gen-sdk`. The language hosts that can be built
// here are too old to answer that call (see scripts/pulumi_cli.py), so the engine tests
// generate the SDKs with this instead.
//
//	go run . SCHEMA.json nodejs|go OUT_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

const tool = "pulumi-edgee gensdk"

func main() {
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: gensdk SCHEMA.json nodejs|go OUT_DIR"))
	}
	schemaPath, language, out := os.Args[1], os.Args[2], os.Args[3]
	text, err := os.ReadFile(schemaPath)
	if err != nil {
		fail(err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(text, &spec); err != nil {
		fail(fmt.Errorf("%s: %w", schemaPath, err))
	}
	if language == "nodejs" {
		// The SDK's package.json carries the schema's version (not a placeholder that a
		// release pipeline fills in), so npm can install it from its folder.
		if err := respectSchemaVersion(&spec); err != nil {
			fail(err)
		}
	}
	// The schema refers to no other package: binding needs a loader but never loads one.
	pkg, diags, err := schema.BindSpec(spec, schema.NewNullLoader(), schema.ValidationOptions{})
	if err != nil {
		fail(err)
	}
	if diags.HasErrors() {
		fail(diags)
	}
	var files map[string][]byte
	switch language {
	case "nodejs":
		files, err = nodejs.GeneratePackage(tool, pkg, nil, nil, true, nil)
	case "go":
		files, err = gogen.GeneratePackage(tool, pkg, nil)
	default:
		err = fmt.Errorf("unknown language %q: nodejs or go", language)
	}
	if err != nil {
		fail(err)
	}
	for name, content := range files {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			fail(err)
		}
	}
}

func respectSchemaVersion(spec *schema.PackageSpec) error {
	options := map[string]any{}
	if raw, ok := spec.Language["nodejs"]; ok {
		if err := json.Unmarshal(raw, &options); err != nil {
			return fmt.Errorf("language.nodejs: %w", err)
		}
	}
	options["respectSchemaVersion"] = true
	raw, err := json.Marshal(options)
	if err != nil {
		return err
	}
	if spec.Language == nil {
		spec.Language = map[string]schema.RawMessage{}
	}
	spec.Language["nodejs"] = raw
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gensdk:", err)
	os.Exit(1)
}
