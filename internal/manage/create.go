package manage

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/scope"
	"github.com/tokensmith/tokensmith/internal/store"
	"github.com/tokensmith/tokensmith/internal/token"
)

// Create mints a token for owner. With an idempotency key, a retry with the
// same input returns the first Minted again (replayed is true) without
// minting another, and different input is a conflict.
func (s *Service) Create(ctx context.Context, p Person, owner tokensmith.Owner, in CreateInput, idemKey string) (m Minted, replayed bool, err error) {
	a, err := s.authorize(ctx, p, owner)
	if err == nil {
		err = mayCreate(owner, a)
	}
	if err != nil {
		return Minted{}, false, err
	}
	if details := Validate(owner.Kind, in); len(details) > 0 {
		return Minted{}, false, tokensmith.Invalid(details...)
	}
	in.Name = strings.TrimSpace(in.Name)
	in.Permissions = scope.Granted(in.Permissions)
	in.AllowedIPs = allowedIPs(in.AllowedIPs)

	var idem *idempotency
	if idemKey != "" {
		if len(s.IdempotencySecret) == 0 {
			return Minted{}, false, ErrNoIdempotencySecret
		}
		idem = newIdempotency(s.IdempotencySecret, owner, a.actor.ID, idemKey, in)
		if m, ok, err := s.replay(ctx, idem); ok || err != nil {
			return m, ok, err
		}
	}
	first := true
	err = store.Retry(ctx, func() error {
		if !first {
			// Another token was created or revoked since the count: read
			// the owner's version and count again.
			if a, err = s.authorize(ctx, p, owner); err != nil {
				return err
			}
			if err := mayCreate(owner, a); err != nil {
				return err
			}
		}
		first = false
		m, err = s.create(ctx, a, owner, in, idem)
		return err
	})
	if err == nil {
		metrics.FromContext(ctx).Add(metrics.TokensMinted, 1, metrics.ActorUser)
	}
	if errors.Is(err, store.ErrIdempotencyKeyUsed) {
		// A concurrent request with the same key won: answer as it did.
		m, ok, err := s.replay(ctx, idem)
		if !ok && err == nil {
			err = fmt.Errorf("idempotency record vanished: %w", store.ErrConflict)
		}
		return m, ok, err
	}
	return m, false, err
}

func (s *Service) create(ctx context.Context, a access, owner tokensmith.Owner, in CreateInput, idem *idempotency) (Minted, error) {
	now := s.Now().UTC()
	existing, err := s.Store.Tokens(ctx, owner)
	if err != nil {
		return Minted{}, err
	}
	n := 0
	for _, t := range existing {
		if t.Active(now) {
			n++
		}
	}
	if n >= MaxActiveTokens {
		return Minted{}, tokensmith.Errorf(tokensmith.ETOKENLIMIT, "This %s already has %d active API tokens; revoke one first", owner.Kind, MaxActiveTokens)
	}
	secret, err := token.Generate(owner.Kind, s.Rand)
	if err != nil {
		return Minted{}, err
	}
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return Minted{}, err
	}
	t := tokensmith.Token{
		ID: id, Kind: owner.Kind, Name: in.Name, WorkspaceID: a.workspace.ID,
		Permissions: in.Permissions, Scope: scope.Join(scope.Expand(in.Permissions)),
		DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret),
		CreatedOn: now, CreatedBy: tokensmith.Actor{Type: tokensmith.ActorPerson, ID: a.actor.ID, Email: a.actor.Email},
		ExpiresOn: now.Add(token.Inactivity), AllowedIPs: in.AllowedIPs,
	}
	if a.site != nil {
		t.SiteID = a.site.ID
	}
	m := Minted{Secret: secret, Token: t}
	o, err := s.origin(a, a.person())
	if err != nil {
		return Minted{}, err
	}
	ev := audit.TokenCreated(o, t, a.site)
	var rec *store.Idempotency
	if idem != nil {
		if rec, err = idem.seal(m, now, s.Rand); err != nil {
			return Minted{}, err
		}
	}
	var rateLimit int64
	if a.site != nil {
		rateLimit = a.site.TokenRateLimit()
	}
	if err := s.Store.CreateToken(ctx, a.version, a.workspace.Plan, rateLimit, t, ev, rec, now); err != nil {
		return Minted{}, err
	}
	return m, nil
}

// replay returns the stored outcome for idem, if a live one exists.
func (s *Service) replay(ctx context.Context, idem *idempotency) (Minted, bool, error) {
	rec, err := s.Store.Idempotency(ctx, idem.keyHash)
	switch {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return Minted{}, false, nil
	case err != nil:
		return Minted{}, false, err
	case s.Now().Unix() >= rec.ExpiresAt:
		return Minted{}, false, nil
	case rec.BodyHash != idem.bodyHash:
		return Minted{}, false, tokensmith.Errorf(tokensmith.ECONFLICT, "This Idempotency-Key was already used with a different request body")
	}
	m, err := idem.open(rec.Sealed)
	if err != nil {
		return Minted{}, false, err
	}
	return m, true, nil
}

// idempotency derives, from the caller's key and the server's secret, the
// hash it is stored under and the key its response is sealed with; neither
// reveals the other or the key, which is never stored. Both are HMACs keyed
// with the server's secret, which is not in the table: someone holding the
// table (or a backup) cannot try short keys offline against the hashes.
type idempotency struct {
	keyHash  string
	bodyHash string
	sealKey  [32]byte
}

func newIdempotency(secret []byte, owner tokensmith.Owner, userID, key string, in CreateInput) *idempotency {
	scoped := string(owner.Kind) + "\x00" + owner.ID + "\x00" + userID + "\x00" + key
	mac := func(purpose string) [32]byte {
		h := hmac.New(sha256.New, secret)
		h.Write([]byte("tokensmith idempotency " + purpose + "\x00" + scoped))
		return [32]byte(h.Sum(nil))
	}
	kh := mac("key")
	body, _ := json.Marshal(in) // maps marshal in key order, so equal inputs hash alike
	bh := sha256.Sum256(body)
	return &idempotency{
		keyHash:  hex.EncodeToString(kh[:]),
		bodyHash: hex.EncodeToString(bh[:]),
		sealKey:  mac("seal"),
	}
}

func (i *idempotency) seal(m Minted, now time.Time, rnd io.Reader) (*store.Idempotency, error) {
	plain, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode idempotent response: %w", err)
	}
	gcm, err := i.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("idempotency nonce: %w", err)
	}
	return &store.Idempotency{
		KeyHash: i.keyHash, BodyHash: i.bodyHash,
		Sealed:    gcm.Seal(nonce, nonce, plain, []byte(i.keyHash)),
		ExpiresAt: now.Unix() + int64(IdempotencyTTL.Seconds()),
	}, nil
}

func (i *idempotency) open(sealed []byte) (Minted, error) {
	gcm, err := i.gcm()
	if err != nil {
		return Minted{}, err
	}
	if len(sealed) < gcm.NonceSize() {
		return Minted{}, errors.New("idempotent response: too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(i.keyHash))
	if err != nil {
		return Minted{}, fmt.Errorf("idempotent response: %w", err)
	}
	var m Minted
	if err := json.Unmarshal(plain, &m); err != nil {
		return Minted{}, fmt.Errorf("decode idempotent response: %w", err)
	}
	return m, nil
}

func (i *idempotency) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(i.sealKey[:])
	if err != nil {
		return nil, fmt.Errorf("idempotency cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
