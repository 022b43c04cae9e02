// Package tokensmith holds what the whole repository shares at its root: the
// domain model (model.go), which every package may import; the SAM template,
// which is the one definition of the table, the routes' events and the
// gateway responses; and the OpenAPI document of the API (openapi.go).
package tokensmith

import _ "embed"

// Template is template.yaml as deployed.
//
//go:embed template.yaml
var Template []byte
