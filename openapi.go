package tokensmith

import _ "embed"

// OpenAPI is docs/openapi.yaml: the API as one OpenAPI 3.1 document, which
// the tests hold to the route table and to every answer of the end-to-end
// tests (internal/openapitest).
//
//go:embed docs/openapi.yaml
var OpenAPI []byte
