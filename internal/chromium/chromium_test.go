package chromium_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/tokensmith/tokensmith/internal/chromium"
)

// TestFindOrder holds the order Find looks in: CHROMIUM, then Names on PATH
// in order, then the cache, which it reads without npm (PATH has none).
func TestFindOrder(t *testing.T) {
	tests := []struct {
		name     string
		env      string   // CHROMIUM: "fake" for an existing file, else as given
		onPath   []string // executables on PATH, which holds nothing else
		cached   bool     // the cache already holds the fetched Chromium
		want     string   // "env", "cache", or the name on PATH
		wantFail string
	}{
		{name: "CHROMIUM before PATH and the cache", env: "fake", onPath: []string{"chromium"}, cached: true, want: "env"},
		{name: "CHROMIUM naming no file fails", env: "/nonexistent/chromium", onPath: []string{"chromium"}, cached: true, wantFail: "CHROMIUM names no browser"},
		{name: "chromium first on PATH", onPath: []string{"chrome", "google-chrome", "chromium"}, cached: true, want: "chromium"},
		{name: "chromium-browser before google-chrome", onPath: []string{"google-chrome", "chromium-browser"}, want: "chromium-browser"},
		{name: "google-chrome before google-chrome-stable", onPath: []string{"google-chrome-stable", "google-chrome"}, want: "google-chrome"},
		{name: "chrome last", onPath: []string{"chrome"}, want: "chrome"},
		{name: "the cache when nothing is installed", cached: true, want: "cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "cache" && (runtime.GOOS != "linux" || runtime.GOARCH != "amd64") {
				t.Skip("@sparticuz/chromium ships linux/amd64 only")
			}
			bin := t.TempDir()
			t.Setenv("PATH", bin)
			cache := t.TempDir()
			t.Setenv("XDG_CACHE_HOME", cache)
			for _, name := range tc.onPath {
				executable(t, filepath.Join(bin, name), "#!/bin/sh\n")
			}
			env := tc.env
			if env == "fake" {
				env = executable(t, filepath.Join(t.TempDir(), "my-chromium"), "#!/bin/sh\n")
			}
			t.Setenv("CHROMIUM", env)
			launcher := filepath.Join(cache, "tokensmith", "chromium-"+chromium.Version, chromium.Launcher)
			if tc.cached {
				executable(t, launcher, "#!/bin/sh\n")
			}

			got, err := chromium.Find(io.Discard)
			if tc.wantFail != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantFail) {
					t.Fatalf("Find() = %q, %v; want an error containing %q", got, err, tc.wantFail)
				}
				return
			}
			want := map[string]string{"env": env, "cache": launcher}[tc.want]
			if want == "" {
				want = filepath.Join(bin, tc.want)
			}
			if err != nil || got != want {
				t.Errorf("Find() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// TestFindFetches fetches a stand-in of @sparticuz/chromium through a fake
// npm, from three callers at once: one folder results, complete, with the
// launcher running the browser with the shipped libraries and fonts, and a
// later call finds it without npm.
func TestFindFetches(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("@sparticuz/chromium ships linux/amd64 only")
	}
	bin, cache := t.TempDir(), t.TempDir()
	t.Setenv("PATH", bin)
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("CHROMIUM", "")
	tgz := filepath.Join(t.TempDir(), "package.tgz")
	if err := os.WriteFile(tgz, fakePackage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(t.TempDir(), "npm-calls")
	// npm pack --silent SPEC --pack-destination DIR prints the tarball's name.
	executable(t, filepath.Join(bin, "npm"), "#!/bin/sh\necho \"$@\" >> "+calls+"\n/bin/cp "+tgz+" \"$5/sparticuz-chromium.tgz\"\necho sparticuz-chromium.tgz\n")

	var wg sync.WaitGroup
	got := make([]string, 3)
	errs := make([]error, 3)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = chromium.Find(io.Discard) })
	}
	wg.Wait()
	dir := filepath.Join(cache, "tokensmith", "chromium-"+chromium.Version)
	launcher := filepath.Join(dir, chromium.Launcher)
	for i := range got {
		if got[i] != launcher || errs[i] != nil {
			t.Fatalf("Find() = %q, %v; want %q", got[i], errs[i], launcher)
		}
	}
	if err := os.Remove(calls); err != nil {
		t.Fatal(err)
	}
	if again, err := chromium.Find(io.Discard); again != launcher || err != nil {
		t.Errorf("Find() once cached = %q, %v; want %q", again, err, launcher)
	}
	if _, err := os.Stat(calls); err == nil {
		t.Error("Find() once cached ran npm")
	}
	entries, _ := os.ReadDir(filepath.Join(cache, "tokensmith"))
	if len(entries) != 1 {
		t.Errorf("the cache holds %v; want only %s", entries, filepath.Base(dir))
	}
	for _, f := range []string{"lib/libnss3.so", "fonts/Open_Sans/OpenSans-Regular.ttf", "fonts.conf", "libGLESv2.so"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "fonts.conf"))
	if !strings.Contains(string(conf), `<dir prefix="relative">fonts</dir>`) {
		t.Errorf("fonts.conf = %s; want the shipped fonts' folder in it", conf)
	}

	// Through a symbolic link, as a cache folder elsewhere may be reached.
	link := filepath.Join(t.TempDir(), "browser")
	if err := os.Symlink(launcher, link); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(link, "--version")
	run.Env = []string{"PATH=/usr/bin:/bin", "LD_LIBRARY_PATH=/elsewhere"}
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v %s", launcher, err, out)
	}
	if want := "--version|" + filepath.Join(dir, "lib") + ":/elsewhere|" + filepath.Join(dir, "fonts.conf") + "\n"; string(out) != want {
		t.Errorf("the launched browser saw %q; want %q", out, want)
	}
}

// TestFindRefusesAnIncompletePackage holds that a package missing one of the
// files the browser needs fails the fetch, naming the file, and leaves
// nothing in the cache for a later call to take as complete.
func TestFindRefusesAnIncompletePackage(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("@sparticuz/chromium ships linux/amd64 only")
	}
	for _, missing := range []string{"chromium.br", "al2023.tar.br", "fonts.tar.br"} {
		t.Run(missing, func(t *testing.T) {
			bin, cache := t.TempDir(), t.TempDir()
			t.Setenv("PATH", bin)
			t.Setenv("XDG_CACHE_HOME", cache)
			t.Setenv("CHROMIUM", "")
			tgz := filepath.Join(t.TempDir(), "package.tgz")
			if err := os.WriteFile(tgz, fakePackage(t, "package/bin/"+missing), 0o644); err != nil {
				t.Fatal(err)
			}
			executable(t, filepath.Join(bin, "npm"), "#!/bin/sh\n/bin/cp "+tgz+" \"$5/sparticuz-chromium.tgz\"\necho sparticuz-chromium.tgz\n")

			got, err := chromium.Find(io.Discard)
			if want := "the package has no bin/" + missing; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Find() = %q, %v; want an error containing %q", got, err, want)
			}
			entries, _ := os.ReadDir(filepath.Join(cache, "tokensmith"))
			if len(entries) != 0 {
				t.Errorf("the cache holds %v after a failed fetch; want nothing", entries)
			}
		})
	}
}

// fakePackage is a tarball laid out as @sparticuz/chromium's, whose browser
// prints its arguments and the environment the launcher gives it, without
// the files named in omit.
func fakePackage(t *testing.T, omit ...string) []byte {
	browser := "#!/bin/sh\necho \"$*|$LD_LIBRARY_PATH|$FONTCONFIG_FILE\"\n"
	files := map[string][]byte{
		"package/package.json":           []byte(`{"name":"@sparticuz/chromium"}`),
		"package/bin/chromium.br":        compress(t, []byte(browser)),
		"package/bin/al2023.tar.br":      compress(t, tarOf(t, map[string]string{"lib/libnss3.so": "nss"})),
		"package/bin/fonts.tar.br":       compress(t, tarOf(t, map[string]string{"fonts.conf": "<fontconfig><dir>/tmp/fonts</dir></fontconfig>", "fonts/Open_Sans/OpenSans-Regular.ttf": "font"})),
		"package/bin/swiftshader.tar.br": compress(t, tarOf(t, map[string]string{"libGLESv2.so": "gles"})),
	}
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, name := range omit {
		delete(files, name)
	}
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return b.Bytes()
}

func tarOf(t *testing.T, files map[string]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func compress(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w := brotli.NewWriter(&b)
	w.Write(p)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func executable(t *testing.T, path, script string) string {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}
