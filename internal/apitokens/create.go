package apitokens

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

// msgNoIdempotency is the message of a create with an Idempotency-Key while
// the secret that keys its record cannot be read: nothing is created, and
// the same request may be sent again.
const msgNoIdempotency = "Tokens cannot be created with an Idempotency-Key right now; send the request again shortly"

// Create mints a token for owner. With an idempotency key, a retry with the
// same input returns the first tokensmith.Minted again (replayed is true) without
// minting another, and different input is a conflict.
func (s *Service) Create(ctx context.Context, p tokensmith.Caller, owner tokensmith.Owner, in tokensmith.TokenInput, idemKey string) (m tokensmith.Minted, replayed bool, err error) {
	a, err := s.authorize(ctx, p, owner)
	if err == nil {
		err = mayCreate(owner, a)
	}
	if err != nil {
		return tokensmith.Minted{}, false, err
	}
	if details := Validate(owner.Kind, in); len(details) > 0 {
		return tokensmith.Minted{}, false, tokensmith.Invalid(details...)
	}
	if err := withinPolicy(a.workspace, in.ExpiresInDays); err != nil {
		return tokensmith.Minted{}, false, err
	}
	in.Name = strings.TrimSpace(in.Name)
	in.Permissions = scope.Granted(in.Permissions)
	in.AllowedIPs = allowedIPs(in.AllowedIPs)

	var idem *idempotency
	if idemKey != "" {
		if s.IdempotencySecret == nil {
			return tokensmith.Minted{}, false, ErrNoIdempotencySecret
		}
		secret, err := s.IdempotencySecret.Secret(ctx)
		if err != nil {
			return tokensmith.Minted{}, false, errors.Join(tokensmith.Errorf(tokensmith.EUNAVAILABLE, msgNoIdempotency), err)
		}
		if len(secret) == 0 {
			return tokensmith.Minted{}, false, ErrNoIdempotencySecret
		}
		idem = newIdempotency(secret, owner, a.actor.ID, idemKey, in)
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
			if err := withinPolicy(a.workspace, in.ExpiresInDays); err != nil {
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

func (s *Service) create(ctx context.Context, a access, owner tokensmith.Owner, in tokensmith.TokenInput, idem *idempotency) (tokensmith.Minted, error) {
	now := s.Now().UTC()
	existing, err := s.Store.Tokens(ctx, owner)
	if err != nil {
		return tokensmith.Minted{}, err
	}
	n := 0
	for _, t := range existing {
		if t.Active(now) {
			n++
		}
	}
	if n >= MaxActiveTokens {
		return tokensmith.Minted{}, tokensmith.Errorf(tokensmith.ETOKENLIMIT, "This %s already has %d active API tokens; revoke one first", owner.Kind, MaxActiveTokens)
	}
	secret, err := token.Generate(owner.Kind, s.Rand)
	if err != nil {
		return tokensmith.Minted{}, err
	}
	id, err := token.NewID(now, s.Rand)
	if err != nil {
		return tokensmith.Minted{}, err
	}
	t := tokensmith.Token{
		ID: id, Kind: owner.Kind, Name: in.Name, WorkspaceID: a.workspace.ID,
		Permissions: in.Permissions, Scope: scope.Join(scope.Expand(in.Permissions)),
		DisplayHint: token.DisplayHint(secret), SecretHash: token.Hash(secret),
		CreatedOn: now, CreatedBy: a.actor.Actor(), AllowedIPs: in.AllowedIPs,
	}
	if in.ExpiresInDays != nil {
		t.LifetimeDays = *in.ExpiresInDays
	}
	t.ExpiresAt = fixedEnd(now, t.LifetimeDays)
	t.ExpiresOn = tokensmith.EarlierEnd(t.InactiveUntil(), t.ExpiresAt)
	if a.site != nil {
		t.SiteID = a.site.ID
	}
	m := tokensmith.Minted{Secret: secret, Token: t}
	o, err := s.origin(a, a.actor.Actor())
	if err != nil {
		return tokensmith.Minted{}, err
	}
	ev := audit.TokenCreated(o, t, a.site)
	var rec *store.Idempotency
	if idem != nil {
		if rec, err = idem.seal(m, now, s.Rand); err != nil {
			return tokensmith.Minted{}, err
		}
	}
	var rateLimit int64
	if a.site != nil {
		rateLimit = a.site.TokenRateLimit()
	}
	if err := s.Store.CreateToken(ctx, a.version, a.workspace.Plan, rateLimit, t, ev, rec, now); err != nil {
		return tokensmith.Minted{}, err
	}
	return m, nil
}

// replay returns the stored outcome for idem, if a live one exists.
func (s *Service) replay(ctx context.Context, idem *idempotency) (tokensmith.Minted, bool, error) {
	rec, err := s.Store.Idempotency(ctx, idem.keyHash)
	switch {
	case tokensmith.ErrorCode(err) == tokensmith.ENOTFOUND:
		return tokensmith.Minted{}, false, nil
	case err != nil:
		return tokensmith.Minted{}, false, err
	case s.Now().Unix() >= rec.ExpiresAt:
		return tokensmith.Minted{}, false, nil
	case rec.BodyHash != idem.bodyHash:
		return tokensmith.Minted{}, false, tokensmith.Errorf(tokensmith.ECONFLICT, "This Idempotency-Key was already used with a different request body")
	}
	m, err := idem.open(rec.Sealed)
	if err != nil {
		return tokensmith.Minted{}, false, err
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

func newIdempotency(secret []byte, owner tokensmith.Owner, userID, key string, in tokensmith.TokenInput) *idempotency {
	scoped := string(owner.Kind) + "\x00" + owner.ID + "\x00" + userID + "\x00" + key
	mac := func(purpose string) [32]byte {
		h := hmac.New(sha256.New, secret)
		h.Write([]byte("tokensmith idempotency " + purpose + "\x00" + scoped))
		return [32]byte(h.Sum(nil))
	}
	kh := mac("key")
	body, _ := json.Marshal(hashedInput(in)) // maps marshal in key order, so equal inputs hash alike
	bh := sha256.Sum256(body)
	return &idempotency{
		keyHash:  hex.EncodeToString(kh[:]),
		bodyHash: hex.EncodeToString(bh[:]),
		sealKey:  mac("seal"),
	}
}

// hashedInput is the shape of a create's input whose SHA-256 an
// idempotency record keeps: its own, so that the hash of equal inputs stays
// the same whatever the model's types become.
type hashedInput struct {
	Name        string            `json:"name"`
	Permissions scope.Permissions `json:"permissions"`
	AllowedIPs  []string          `json:"allowedIps,omitempty"`
	// ExpiresInDays is left out when absent, so that the hash of a
	// request without it is the one recorded before it existed.
	ExpiresInDays *int64 `json:"expiresInDays,omitempty"`
}

// sealedMinted is the stored shape of a create's response, sealed in its
// idempotency record: its own, with the names records have always had, so
// that a record written before a change of the model still replays.
type sealedMinted struct {
	Secret string      `json:"secret"`
	Token  sealedToken `json:"token"`
}

type sealedToken struct {
	ID             string               `json:"ID"`
	Kind           token.Kind           `json:"Kind"`
	Name           string               `json:"Name"`
	SiteID         string               `json:"SiteID"`
	WorkspaceID    string               `json:"WorkspaceID"`
	Permissions    scope.Permissions    `json:"Permissions"`
	Scope          string               `json:"Scope"`
	DisplayHint    string               `json:"DisplayHint"`
	SecretHash     string               `json:"SecretHash"`
	PrevSecretHash string               `json:"PrevSecretHash"`
	CreatedOn      time.Time            `json:"CreatedOn"`
	CreatedBy      sealedActor          `json:"CreatedBy"`
	LastUsed       *time.Time           `json:"LastUsed"`
	UseCount       int64                `json:"UseCount"`
	ExpiresOn      time.Time            `json:"ExpiresOn"`
	ExpiresAt      *time.Time           `json:"ExpiresAt,omitempty"`
	LifetimeDays   int64                `json:"LifetimeDays,omitempty"`
	AllowedIPs     []string             `json:"AllowedIPs"`
	ScopeLastUsed  map[string]time.Time `json:"ScopeLastUsed"`
}

type sealedActor struct {
	Type  tokensmith.ActorType `json:"Type"`
	ID    string               `json:"ID"`
	Email string               `json:"Email"`
}

func toSealed(m tokensmith.Minted) sealedMinted {
	t := m.Token
	return sealedMinted{Secret: m.Secret, Token: sealedToken{
		ID: t.ID, Kind: t.Kind, Name: t.Name, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Permissions: t.Permissions, Scope: t.Scope, DisplayHint: t.DisplayHint, SecretHash: t.SecretHash,
		PrevSecretHash: t.PrevSecretHash, CreatedOn: t.CreatedOn,
		CreatedBy: sealedActor{Type: t.CreatedBy.Type, ID: t.CreatedBy.ID, Email: t.CreatedBy.Email},
		LastUsed:  t.LastUsed, UseCount: t.UseCount, ExpiresOn: t.ExpiresOn, ExpiresAt: t.ExpiresAt, LifetimeDays: t.LifetimeDays,
		AllowedIPs: t.AllowedIPs, ScopeLastUsed: t.ScopeLastUsed,
	}}
}

func (s sealedMinted) minted() tokensmith.Minted {
	t := s.Token
	return tokensmith.Minted{Secret: s.Secret, Token: tokensmith.Token{
		ID: t.ID, Kind: t.Kind, Name: t.Name, SiteID: t.SiteID, WorkspaceID: t.WorkspaceID,
		Permissions: t.Permissions, Scope: t.Scope, DisplayHint: t.DisplayHint, SecretHash: t.SecretHash,
		PrevSecretHash: t.PrevSecretHash, CreatedOn: t.CreatedOn,
		CreatedBy: tokensmith.Actor{Type: t.CreatedBy.Type, ID: t.CreatedBy.ID, Email: t.CreatedBy.Email},
		LastUsed:  t.LastUsed, UseCount: t.UseCount, ExpiresOn: t.ExpiresOn, ExpiresAt: t.ExpiresAt, LifetimeDays: t.LifetimeDays,
		AllowedIPs: t.AllowedIPs, ScopeLastUsed: t.ScopeLastUsed,
	}}
}

func (i *idempotency) seal(m tokensmith.Minted, now time.Time, rnd io.Reader) (*store.Idempotency, error) {
	plain, err := json.Marshal(toSealed(m))
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

func (i *idempotency) open(sealed []byte) (tokensmith.Minted, error) {
	gcm, err := i.gcm()
	if err != nil {
		return tokensmith.Minted{}, err
	}
	if len(sealed) < gcm.NonceSize() {
		return tokensmith.Minted{}, errors.New("idempotent response: too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(i.keyHash))
	if err != nil {
		return tokensmith.Minted{}, fmt.Errorf("idempotent response: %w", err)
	}
	var m sealedMinted
	if err := json.Unmarshal(plain, &m); err != nil {
		return tokensmith.Minted{}, fmt.Errorf("decode idempotent response: %w", err)
	}
	return m.minted(), nil
}

func (i *idempotency) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(i.sealKey[:])
	if err != nil {
		return nil, fmt.Errorf("idempotency cipher: %w", err)
	}
	return cipher.NewGCM(block)
}
