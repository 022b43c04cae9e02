// Package tokensmith holds what the whole repository shares at its root: the
// domain model (model.go), which every package may import; the SAM template,
// which is the one definition of the table, the routes' events and the
// gateway responses; and the API's OpenAPI document, docs/openapi.yaml.
package tokensmith

import _ "embed"

// Template is template.yaml as deployed.
//
//go:embed template.yaml
var Template []byte

// OpenAPI is docs/openapi.yaml: the API as one OpenAPI 3.1 document, which
// the tests hold to the route table and to every answer of the end-to-end
// tests (internal/openapitest).
//
//go:embed docs/openapi.yaml
var OpenAPI []byte

// Upstreams is upstreams.yaml: the operator's APIs behind tokensmith and the
// APIs they add to the scope catalogue (package upstream), built into every
// function from the same file `make run` reads.
//
//go:embed upstreams.yaml
var Upstreams []byte
