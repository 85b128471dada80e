package main

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/qiao-gateway/qiao/internal/config"
)

// Gateway profiles the benchmark can run Qiao with.
const (
	// profileCN is the built-in CN profile unchanged (privacy on every type, explicit and
	// implicit AIGC labels, filings, audit) with its models pointed at the simulator.
	profileCN = "cn"
	// profileMinimal is the same region with privacy off and no labels: what is left is
	// authentication, routing, the provider adapter, stream re-encoding, metrics and the
	// audit record, which every request gets.
	profileMinimal = "min"
)

// simKeyEnv names the variable that carries the simulator's key into the gateway.
const simKeyEnv = "QIAO_BENCH_SIM_KEY"

// upstreamModel is the model the simulator is asked for, directly and through the gateway
// (the CN profile's filing is for this model).
const upstreamModel = "qwen-plus"

// gatewayConfig returns a Qiao configuration for profile: base's CN region (base is a
// built-in configuration: `qiao config default` of the binary under test, or
// config.Default()), served by one OpenAI-compatible provider at simURL (jurisdiction CN),
// listening on addr, with its data in dataDir.
func gatewayConfig(base []byte, profile, addr, dataDir, simURL string) ([]byte, error) {
	var root map[string]any
	if err := yaml.Unmarshal(base, &root); err != nil {
		return nil, fmt.Errorf("bench: built-in config: %w", err)
	}
	regions, _ := root["regions"].(map[string]any)
	cn, ok := regions["CN"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("bench: the built-in config has no CN region")
	}
	cn["models"] = map[string]any{"chat": []string{"sim/" + upstreamModel}}
	switch profile {
	case profileCN:
	case profileMinimal:
		cn["privacy"] = map[string]any{"enabled": false}
		delete(cn, "label")
		delete(cn, "filings")
	default:
		return nil, fmt.Errorf("bench: unknown profile %q (want %s or %s)", profile, profileCN, profileMinimal)
	}
	root["regions"] = map[string]any{"CN": cn}
	root["providers"] = map[string]any{"sim": map[string]any{
		"kind": "openai", "base_url": simURL, "api_key_env": simKeyEnv, "jurisdiction": "CN",
	}}
	server, _ := root["server"].(map[string]any)
	if server == nil {
		server = map[string]any{}
		root["server"] = server
	}
	server["addr"] = addr
	server["data_dir"] = dataDir
	out, err := yaml.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("bench: encode config: %w", err)
	}
	return out, nil
}

// checkedGatewayConfig is gatewayConfig on this source tree's built-in configuration,
// checked with the gateway's own parser: for the gateway this binary runs in-process.
func checkedGatewayConfig(profile, addr, dataDir, simURL string) ([]byte, error) {
	out, err := gatewayConfig(config.Default(), profile, addr, dataDir, simURL)
	if err != nil {
		return nil, err
	}
	if _, err := config.Parse(out); err != nil {
		return nil, fmt.Errorf("bench: generated config for %s is invalid:\n%w", profile, err)
	}
	return out, nil
}
