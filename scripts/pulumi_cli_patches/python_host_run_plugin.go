// Added to the 3.68 Python language host by scripts/pulumi_cli.py.
//
// Newer engines describe the plugin to start in RunPluginRequest fields 5 (`info`, a
// ProgramInfo) and 6 (`kind`), which the 3.68 protocol does not know: they arrive as unknown
// fields and the deprecated `program` is empty. This reads them the way newer Python hosts
// do, so that the engine can start Python policy packs (kind "analyzer": `python -u -m
// pulumi.policy ENGINE PACK_DIR`) and Python plugins through this host.

package main

import (
	"path/filepath"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// pluginToRun is what a newer engine's RunPlugin request asks for.
type pluginToRun struct {
	kind             string
	rootDirectory    string
	programDirectory string
	entryPoint       string
	virtualenv       string
}

// bytesFields calls visit for every length-delimited field of a serialized message.
func bytesFields(raw []byte, visit func(num protowire.Number, value []byte)) {
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return
		}
		raw = raw[n:]
		if typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, raw)
			if m < 0 {
				return
			}
			raw = raw[m:]
			continue
		}
		value, m := protowire.ConsumeBytes(raw)
		if m < 0 {
			return
		}
		raw = raw[m:]
		visit(num, value)
	}
}

func newerPluginRequest(req *pulumirpc.RunPluginRequest) pluginToRun {
	var found pluginToRun
	bytesFields(req.ProtoReflect().GetUnknown(), func(num protowire.Number, value []byte) {
		switch num {
		case 5:
			bytesFields(value, func(num protowire.Number, value []byte) {
				switch num {
				case 1:
					found.rootDirectory = string(value)
				case 2:
					found.programDirectory = string(value)
				case 3:
					found.entryPoint = string(value)
				case 4:
					var options structpb.Struct
					if proto.Unmarshal(value, &options) == nil {
						found.virtualenv = options.GetFields()["virtualenv"].GetStringValue()
					}
				}
			})
		case 6:
			found.kind = string(value)
		}
	})
	return found
}

// pluginCommand is the Python command line for a RunPlugin request, and the virtualenv
// option and resolved folder to run it in ("" for none).
func (host *pythonLanguageHost) pluginCommand(req *pulumirpc.RunPluginRequest) ([]string, string, string) {
	if req.Program != "" {
		return append([]string{req.Program}, req.Args...), host.virtualenv, host.virtualenvPath
	}
	newer := newerPluginRequest(req)
	var args []string
	if newer.kind == "analyzer" {
		args = append([]string{"-u", "-m", "pulumi.policy"}, req.Args...)
		args = append(args, newer.programDirectory)
	} else {
		entry := newer.entryPoint
		if entry == "" {
			entry = "."
		}
		args = append([]string{filepath.Join(newer.programDirectory, entry)}, req.Args...)
	}
	if newer.virtualenv == "" {
		return args, host.virtualenv, host.virtualenvPath
	}
	return args, newer.virtualenv, resolveVirtualEnvironmentPath(newer.rootDirectory, newer.virtualenv)
}
