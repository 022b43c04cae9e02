package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/store"
)

// TestWriteError holds the one mapping of errors to status and code: a miss
// in the store, however wrapped, is the API's not found.
func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"store miss", tokensmith.NotFound(), 404, tokensmith.ENOTFOUND},
		{"wrapped store miss", fmt.Errorf("site 65f0: %w", tokensmith.NotFound()), 404, tokensmith.ENOTFOUND},
		{"client error", tokensmith.Errorf(tokensmith.EFORBIDDEN, "no"), 403, tokensmith.EFORBIDDEN},
		{"conflict left over", store.ErrConflict, 500, tokensmith.EINTERNAL},
		{"anything else", errors.New("connection refused"), 500, tokensmith.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeError(w, httptest.NewRequest("GET", "/", nil), slog.New(slog.NewJSONHandler(io.Discard, nil)), tc.err)
			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || body.Code != tc.code {
				t.Errorf("writeError(%v) = %d %s; want %d %s", tc.err, w.Code, body.Code, tc.status, tc.code)
			}
		})
	}
}
