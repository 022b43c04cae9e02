// Package chromium finds the headless Chromium that the browser tests drive:
// the one CHROMIUM names, else one installed on PATH, else the one the npm
// package @sparticuz/chromium ships, fetched once into the tool cache
// (internal/toolcache) and unpacked there with the libraries and fonts it
// ships.
package chromium

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/andybalholm/brotli"

	"github.com/tokensmith/tokensmith/internal/toolcache"
)

// Names are the names an installed Chromium or Chrome goes by on PATH, in
// the order Find tries them.
var Names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}

// Apps are where macOS keeps Chrome and Chromium, which put nothing on PATH;
// Find tries them after Names.
var Apps = []string{
	"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
	"/Applications/Chromium.app/Contents/MacOS/Chromium",
}

// Version pins @sparticuz/chromium, which ships Chromium's headless shell for
// linux/amd64 inside the package (no install script downloads it).
const Version = "153.0.0"

// Launcher is the name of the script in the cached folder that runs the
// shipped Chromium with its libraries and fonts.
const Launcher = "chromium.sh"

// Find returns the path of the Chromium to drive: the file CHROMIUM names
// (an error when there is none), else the first of Names on PATH, else the
// browser in Apps on macOS, else the cached Chromium of @sparticuz/chromium, fetched on first use and said so to
// log.
func Find(log io.Writer) (string, error) {
	if path := os.Getenv("CHROMIUM"); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("CHROMIUM names no browser: %w", err)
		}
		return path, nil
	}
	for _, name := range Names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	if runtime.GOOS == "darwin" {
		for _, path := range Apps {
			if _, err := os.Stat(path); err == nil {
				return path, nil
			}
		}
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return "", fmt.Errorf("no Chromium on PATH (%s), and @sparticuz/chromium ships one for linux/amd64 only: install Chromium or set CHROMIUM", strings.Join(Names, ", "))
	}
	dir, err := pkg.Fetch(log)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, Launcher), nil
}

var pkg = toolcache.Package{
	What:   "Chromium",
	Spec:   "@sparticuz/chromium@" + Version,
	Folder: "chromium-" + Version,
	Unpack: unpack,
}

// unpack lays out the package's bin folder as its own executablePath() does
// (the browser, its shared libraries under lib/, the SwiftShader libraries
// beside it, the fonts under fonts/), adding a fontconfig file and the
// launcher that points the browser at them.
func unpack(tr *tar.Reader, dst string) error {
	found := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(h.Name, "package/bin/")
		switch name {
		case "chromium.br":
			err = toolcache.WriteFile(filepath.Join(dst, "chromium"), brotli.NewReader(tr), 0o755)
		case "al2023.tar.br", "swiftshader.tar.br":
			err = toolcache.Extract(tar.NewReader(brotli.NewReader(tr)), "", dst)
		case "fonts.tar.br":
			err = toolcache.Extract(tar.NewReader(brotli.NewReader(tr)), "fonts/", filepath.Join(dst, "fonts"))
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		found[name] = true
	}
	for _, name := range []string{"chromium.br", "al2023.tar.br", "fonts.tar.br"} {
		if !found[name] {
			return fmt.Errorf("the package has no bin/%s", name)
		}
	}
	if err := os.WriteFile(filepath.Join(dst, "fonts.conf"), []byte(fontsConf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dst, Launcher), []byte(launcher), 0o755)
}

// fontsConf adds the fonts the package ships (Open Sans) to the system's
// fontconfig setup, when there is one, so that text renders on a machine
// with no fonts installed and as usual on one with them. The fonts' folder is
// relative to the file, which the cache renames into place.
const fontsConf = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir prefix="relative">fonts</dir>
</fontconfig>
`

// launcher runs the shipped Chromium with the shared libraries it needs
// (NSS and Expat, built for Amazon Linux 2023, first on the library path) and
// the fonts above. Playwright launches it as the browser's executable; exec
// keeps the pipes it talks to the browser through.
const launcher = `#!/bin/sh
# Chromium of @sparticuz/chromium ` + Version + `, with the libraries and fonts it ships.
here=$(dirname "$(readlink -f "$0")")
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export FONTCONFIG_FILE="$here/fonts.conf"
exec "$here/chromium" "$@"
`
