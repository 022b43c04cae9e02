// Package console holds the built web console: console/dist, which
// `npm run build` writes (the Makefile runs it before any Go build), embedded
// for the console function to serve.
package console

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Files returns the built console: index.html, manifest.json and assets/.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a valid path, embedded above
	}
	return sub
}
