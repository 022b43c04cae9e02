package scanner_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokensmith/tokensmith/internal/localdev/defaults"
	"github.com/tokensmith/tokensmith/internal/localdev/scanner"
	"github.com/tokensmith/tokensmith/internal/secretscanning"
	"github.com/tokensmith/tokensmith/internal/token"
)

// published is the key identifiers of dir's keys document.
func published(t *testing.T, dir string) []string {
	t.Helper()
	h, err := scanner.Keys(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", defaults.GitHubKeysPath, nil))
	var doc secretscanning.KeysDocument
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range doc.PublicKeys {
		ids = append(ids, k.KeyIdentifier)
	}
	return ids
}

// TestKey: the key is made on the first start only, private to its owner,
// and signs every report after, across restarts; Report never makes it.
func TestKey(t *testing.T) {
	dir := t.TempDir()
	secret, _ := token.Generate(token.KindSite, rand.Reader)
	if _, err := scanner.Report(dir, secret, ""); !errors.Is(err, scanner.ErrNoKey) {
		t.Fatalf("Report with no key = %v; want ErrNoKey", err)
	}
	first := published(t, dir)
	info, err := os.Stat(filepath.Join(dir, defaults.GitHubKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	if again := published(t, dir); len(first) != 1 || len(again) != 1 || again[0] != first[0] {
		t.Errorf("keys %v, then %v after a restart; want the one key kept", first, again)
	}
	d, err := scanner.Report(dir, secret, "")
	if err != nil || d.Headers[secretscanning.HeaderKeyID] != first[0] {
		t.Errorf("Report = %v, %v; want signed by %s", d, err, first[0])
	}
	if _, err := scanner.Report(dir, "tss_short", ""); !errors.Is(err, scanner.ErrNotToken) {
		t.Errorf("Report of a string not of the format = %v; want ErrNotToken", err)
	}
}
