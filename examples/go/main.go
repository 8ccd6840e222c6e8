// An Edgee AI Gateway API key from Go, through the `edgee` provider plugin (on PATH, or
// installed from its tarball: see the YAML example's header).
//
// The SDK in ./sdk is generated from the plugin's schema. With a current Pulumi CLI,
// `pulumi package add <folder of schema.json>` generates it; from a checkout of this
// repository the same code generator runs as
//
//	(cd scripts/gensdk && go run . ../../schema.json go ../../examples/go/sdk)
//
// then sdk/go.mod is written as `module example.com/pulumi-edgee/sdk/go` requiring
// github.com/pulumi/pulumi/sdk/v3, `go mod tidy` runs here, then `pulumi stack init dev`,
// the two `pulumi config set` of the README, and `pulumi up`.
package main

import (
	"example.com/pulumi-edgee/sdk/go/edgee"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		backend, err := edgee.NewApiKey(ctx, "backend", &edgee.ApiKeyArgs{
			Name:          pulumi.String("Production Backend"),
			Models:        pulumi.StringArray{pulumi.String("openai/gpt-5.2")},
			MaxUsage:      pulumi.Int(1000),
			ExpiresInDays: pulumi.Int(90),
		})
		if err != nil {
			return err
		}
		ctx.Export("backendKey", backend.Key)
		ctx.Export("backendId", backend.ID())
		return nil
	})
}
