package toolcache_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

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
