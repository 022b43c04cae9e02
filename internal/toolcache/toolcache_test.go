package toolcache_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokensmith/tokensmith/internal/toolcache"
)

// TestExtract holds what Extract writes: the files under the prefix, without
// it, with their permission bits; nothing outside dst, nor outside the prefix.
func TestExtract(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct {
		name string
		mode int64
	}{
		{"package/emulator/DynamoDBLocal.jar", 0o644},
		{"package/emulator/bin/run", 0o755},
		{"package/emulator/../escape", 0o644},
		{"package/README.md", 0o644},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.name)), Typeflag: tar.TypeReg})
		tw.Write([]byte(f.name))
	}
	tw.Close()
	root := t.TempDir()
	dst := filepath.Join(root, "out")
	if err := toolcache.Extract(tar.NewReader(&b), "package/emulator/", dst); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		path string
		want os.FileMode // 0: absent
	}{
		{filepath.Join(dst, "DynamoDBLocal.jar"), 0o644},
		{filepath.Join(dst, "bin", "run"), 0o755},
		{filepath.Join(root, "escape"), 0},
		{filepath.Join(dst, "README.md"), 0},
		{filepath.Join(dst, "package"), 0},
	}
	for _, tc := range tests {
		info, err := os.Stat(tc.path)
		var got os.FileMode
		if err == nil {
			got = info.Mode().Perm()
		}
		if got != tc.want {
			t.Errorf("%s: mode %o; want %o (0: absent)", tc.path, got, tc.want)
		}
	}
}

// TestFetchRemovesAbandonedFetches holds that a fetch removes the temporary
// folder an interrupted fetch left behind, and keeps one a fetch running
// beside it is still filling.
func TestFetchRemovesAbandonedFetches(t *testing.T) {
	bin, cache := t.TempDir(), t.TempDir()
	t.Setenv("PATH", bin)
	t.Setenv("XDG_CACHE_HOME", cache)
	root := filepath.Join(cache, "tokensmith")
	abandoned, running := filepath.Join(root, ".fetch-1"), filepath.Join(root, ".fetch-2")
	for _, dir := range []string{abandoned, running} {
		if err := os.MkdirAll(filepath.Join(dir, "unpacked"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(abandoned, old, old); err != nil {
		t.Fatal(err)
	}
	// A package with one file, which npm pack "downloads" into its destination.
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "package/tool", Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.Close()
	gz.Close()
	tgz := filepath.Join(t.TempDir(), "tool.tgz")
	if err := os.WriteFile(tgz, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	npm := "#!/bin/sh\n/bin/cp " + tgz + " \"$5/tool.tgz\"\necho tool.tgz\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(npm), 0o755); err != nil {
		t.Fatal(err)
	}

	pkg := toolcache.Package{What: "a tool", Spec: "tool@1.0.0", Folder: "tool-1.0.0", Unpack: func(tr *tar.Reader, dst string) error {
		return toolcache.Extract(tr, "package/", dst)
	}}
	dir, err := pkg.Fetch(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "tool")); string(got) != "hi" || err != nil {
		t.Errorf("the fetched tool = %q, %v; want %q", got, err, "hi")
	}
	if _, err := os.Stat(abandoned); !os.IsNotExist(err) {
		t.Errorf("the abandoned fetch's folder: %v; want it removed", err)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the running fetch's folder: %v; want it kept", err)
	}
}
