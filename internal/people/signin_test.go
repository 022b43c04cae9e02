package people_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognito "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/tokensmith/tokensmith"
	"github.com/tokensmith/tokensmith/internal/audit"
	"github.com/tokensmith/tokensmith/internal/dynamotest"
	"github.com/tokensmith/tokensmith/internal/metrics"
	"github.com/tokensmith/tokensmith/internal/people"
	"github.com/tokensmith/tokensmith/internal/store"
)

// countingStore is the store on DynamoDB Local, counting the bindings tried.
type countingStore struct {
	*store.Store
	binds atomic.Int64
}

func (c *countingStore) BindMember(ctx context.Context, m tokensmith.Member, u tokensmith.User, ev tokensmith.Event) error {
	c.binds.Add(1)
	return c.Store.BindMember(ctx, m, u, ev)
}

// storedWorld is a workspace on DynamoDB Local and the service over it.
func storedWorld(t *testing.T) (*countingStore, *people.Service, tokensmith.Workspace) {
	t.Helper()
	db, name := dynamotest.NewTable(t)
	st := &countingStore{Store: store.New(db, name)}
	ws := tokensmith.Workspace{ID: wsID, Slug: "hitchhikers", Name: "Hitchhikers", Plan: tokensmith.PlanEnterprise, CreatedOn: now}
	if err := st.CreateWorkspace(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return st, &people.Service{Store: st, Now: time.Now, Rand: rand.Reader}, ws
}

var operator = tokensmith.Actor{Type: tokensmith.ActorSystem}

func invite(t *testing.T, svc *people.Service, ws tokensmith.Workspace, email string, role tokensmith.Role) tokensmith.Member {
	t.Helper()
	m, err := svc.Invite(context.Background(), operator, ws, tokensmith.Place{WorkspaceID: ws.ID}, email, role)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRedundantInvitation: a person who holds a membership of a workspace
// and whose newly verified email is invited to it again tries the binding
// once; the invitation is removed (user_removed by the person), so later
// sign-ins try nothing and another account with that email takes nothing.
func TestRedundantInvitation(t *testing.T) {
	st, svc, ws := storedWorld(t)
	ctx := context.Background()
	invite(t, svc, ws, "old@example.com", tokensmith.RoleAdmin)
	p := tokensmith.Caller{Issuer: iss, Subject: "arthur", Email: "old@example.com"}
	first, err := svc.SignIn(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	redundant := invite(t, svc, ws, "new@example.com", tokensmith.RoleMember)
	p.Email = "new@example.com" // the issuer verifies a new address for the same sub
	for i, want := range []int64{1, 0} {
		st.binds.Store(0)
		a, err := svc.SignIn(ctx, p)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		if got := st.binds.Load(); got != want {
			t.Errorf("sign-in %d tried %d bindings; want %d", i, got, want)
		}
		if a.User.ID != first.User.ID || a.Role(wsPlace) != tokensmith.RoleAdmin || len(a.Memberships) != 1 {
			t.Errorf("sign-in %d = %+v; want the same person, still admin, one membership", i, a)
		}
	}
	if _, err := st.Member(ctx, wsPlace, redundant.ID); tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND {
		t.Errorf("redundant member after sign-in = %v; want removed", err)
	}
	page, err := st.AuditEvents(ctx, ws.ID, tokensmith.AuditQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := page.Events[len(page.Events)-1]
	if last.SubType != audit.SubUserRemoved || last.Actor.ID != first.User.ID || last.Seq != 4 {
		t.Errorf("last event = %+v; want user_removed by the person, the fourth", last)
	}
	other, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Subject: "ford", Email: "new@example.com"})
	if err != nil || len(other.Memberships) != 0 {
		t.Errorf("another account with the new email = %+v, %v; want holding nothing", other.Memberships, err)
	}
}

// TestRedundantAdminInvitation: a redundant admin invitation to a
// workspace with no accepted admin is its only way to an admin: it is left,
// but each sign-in tries it once, not over and over. Once the workspace has
// an accepted admin, it is removed like any other.
func TestRedundantAdminInvitation(t *testing.T) {
	for _, accepted := range []bool{false, true} {
		t.Run(fmt.Sprintf("accepted admin %v", accepted), func(t *testing.T) {
			st, svc, ws := storedWorld(t)
			ctx := context.Background()
			if accepted {
				invite(t, svc, ws, "zaphod@example.com", tokensmith.RoleAdmin)
				if _, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Subject: "zaphod", Email: "zaphod@example.com"}); err != nil {
					t.Fatal(err)
				}
			}
			invite(t, svc, ws, "old@example.com", tokensmith.RoleMember)
			p := tokensmith.Caller{Issuer: iss, Subject: "arthur", Email: "old@example.com"}
			if _, err := svc.SignIn(ctx, p); err != nil {
				t.Fatal(err)
			}
			admin := invite(t, svc, ws, "new@example.com", tokensmith.RoleAdmin)
			p.Email = "new@example.com"
			for i := 0; i < 2; i++ {
				st.binds.Store(0)
				a, err := svc.SignIn(ctx, p)
				if err != nil || a.Role(wsPlace) != tokensmith.RoleMember {
					t.Fatalf("sign-in %d = %+v, %v; want the member role kept", i, a, err)
				}
				want := int64(1)
				if accepted && i > 0 {
					want = 0 // the first sign-in removed it
				}
				if got := st.binds.Load(); got != want {
					t.Errorf("sign-in %d tried %d bindings; want %d", i, got, want)
				}
			}
			m, err := st.Member(ctx, wsPlace, admin.ID)
			switch {
			case accepted && tokensmith.ErrorCode(err) != tokensmith.ENOTFOUND:
				t.Errorf("the redundant admin invitation = %+v, %v; want removed", m, err)
			case !accepted && (err != nil || m.Bound()):
				t.Errorf("the only admin's invitation = %+v, %v; want kept, unbound", m, err)
			}
		})
	}
}

// TestEmailWithUnicodeSpaces: only ASCII white space is trimmed. An email
// with other spaces is refused when a member is added, and a token email
// with them is another address, which takes nothing of the trimmed one.
func TestEmailWithUnicodeSpaces(t *testing.T) {
	st, svc, ws := storedWorld(t)
	ctx := context.Background()
	m := invite(t, svc, ws, " \tadmin@example.com\r\n", tokensmith.RoleAdmin)
	if m.Email != "admin@example.com" {
		t.Errorf("email with ASCII spaces stored as %q; want trimmed", m.Email)
	}
	for _, email := range []string{"\u00a0x@example.com", "x@example.com\u2003", "\u3000x@example.com", "x@example.com\u0085"} {
		if _, err := svc.Invite(ctx, operator, ws, wsPlace, email, tokensmith.RoleMember); code(err) != tokensmith.EINVALID {
			t.Errorf("Invite(%q) = %v; want validation_error", email, err)
		}
	}
	a, err := svc.SignIn(ctx, tokensmith.Caller{Issuer: iss, Subject: "x", Email: "\u00a0admin@example.com\u2003"})
	if err != nil || len(a.Memberships) != 0 {
		t.Errorf("token email with Unicode spaces holds %+v, %v; want nothing", a.Memberships, err)
	}
	if got, err := st.Member(ctx, wsPlace, m.ID); err != nil || got.Bound() {
		t.Errorf("admin@example.com's membership = %+v, %v; want unbound", got, err)
	}
}

// TestEmailWithInvisibleCharacters: an email with a character that is not
// displayed (Unicode format characters, variation selectors, other
// default-ignorable code points) is a validation error naming the field.
func TestEmailWithInvisibleCharacters(t *testing.T) {
	for _, email := range []string{
		"ad\u200bmin@example.com", // zero-width space
		"admin@exam\u00adple.com", // soft hyphen
		"\u202eadmin@example.com", // right-to-left override
		"admin\u2066@example.com", // left-to-right isolate
		"admin@example.com\ufeff", // zero-width no-break space
		"ad\u200dmin@example.com", // zero-width joiner
		"admin\ufe0f@example.com", // variation selector
		"admin\u115f@example.com", // Hangul choseong filler
	} {
		_, err := people.CheckEmail("email", email)
		var ae *tokensmith.Error
		if !errors.As(err, &ae) || ae.Code != tokensmith.EINVALID || len(ae.Details) != 1 || ae.Details[0].Field != "email" {
			t.Errorf("CheckEmail(%q) = %v; want validation_error on email", email, err)
		}
	}
	if got, err := people.CheckEmail("email", "Admin@Example.com"); err != nil || got != "admin@example.com" {
		t.Errorf("CheckEmail of a plain address = %q, %v; want admin@example.com", got, err)
	}
}

// TestConcurrentFirstSignIn: the same person's first calls at once (the
// console loads /v2/me and a token list together). A call whose creation
// of the person is cancelled by the other's transaction in flight
// (store.ErrConflict) reads again and finds the person the other created.
func TestConcurrentFirstSignIn(t *testing.T) {
	w := newWorld()
	st := w.store()
	create := st.CreateUserFn
	var theirs tokensmith.User
	st.CreateUserFn = func(ctx context.Context, u tokensmith.User) error {
		if theirs.ID == "" {
			theirs = u
			theirs.ID = "0000000d00000000000000ff"
			if err := create(ctx, theirs); err != nil {
				return err
			}
			return fmt.Errorf("create person: %w", store.ErrConflict)
		}
		return create(ctx, u)
	}
	a, err := service(st).SignIn(context.Background(), admin)
	if err != nil || a.User.ID != theirs.ID || a.Role(wsPlace) != tokensmith.RoleAdmin {
		t.Errorf("sign-in racing another first call = %+v, %v; want the person %s, admin", a, err, theirs.ID)
	}
}

// userPool fakes Cognito's client as invitations call it.
type userPool struct {
	AdminCreateUserFn func(ctx context.Context, in *cognitoidentityprovider.AdminCreateUserInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminCreateUserOutput, error)
}

func (p *userPool) AdminCreateUser(ctx context.Context, in *cognitoidentityprovider.AdminCreateUserInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminCreateUserOutput, error) {
	return p.AdminCreateUserFn(ctx, in, optFns...)
}

func (p *userPool) AdminGetUser(context.Context, *cognitoidentityprovider.AdminGetUserInput, ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminGetUserOutput, error) {
	return nil, errors.New("AdminGetUser is not faked: the service has no Resends")
}

// TestInviteAccount: with the stack's user pool, the account is created
// only once the member is written, and only for an email without one: an
// existing account is never sent a new temporary password (no RESEND),
// and the invitation answers as for a new one. A user pool that fails
// changes nothing of the answer either: it is counted in
// AccountsNotCreated and logged. Errors never carry the email; an
// invitation over the day's limit creates nothing.
func TestInviteAccount(t *testing.T) {
	const email = "trillian@example.com"
	exists := &cognito.UsernameExistsException{Message: aws.String("An account with the given email already exists.")}
	for _, tc := range []struct {
		name     string
		addErr   error   // of the store's AddMember
		answers  []error // of each AdminCreateUser call
		wantCode string
		want     []string // the MessageAction of each call made
		counted  bool     // in AccountsNotCreated
	}{
		{"new account", nil, []error{nil}, "", []string{""}, false},
		{"existing account", nil, []error{exists}, "", []string{""}, false},
		{"user pool fails", nil, []error{&cognito.InvalidParameterException{Message: aws.String("bad " + email)}}, "", []string{""}, true},
		{"user pool over its email quota", nil, []error{&cognito.LimitExceededException{Message: aws.String("Exceeded daily email limit")}}, "", []string{""}, true},
		{"member exists", store.ErrExists, nil, tokensmith.ECONFLICT, nil, false},
		{"over the day's invitations", store.ErrLimitReached, nil, tokensmith.ETOOMANYREQUESTS, nil, false},
		{"store fails", errors.New("table unavailable"), nil, "other", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			st := w.store()
			add := st.AddMemberFn
			st.AddMemberFn = func(ctx context.Context, m tokensmith.Member, ev tokensmith.Event) error {
				if tc.addErr != nil {
					return tc.addErr
				}
				return add(ctx, m, ev)
			}
			var got []string
			svc := service(st)
			svc.UserPoolID = "eu-west-1_pool"
			svc.UserPool = &userPool{AdminCreateUserFn: func(_ context.Context, in *cognitoidentityprovider.AdminCreateUserInput, _ ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminCreateUserOutput, error) {
				if _, err := w.store().MemberByEmail(context.Background(), wsPlace, email); err != nil {
					t.Errorf("AdminCreateUser before the member is written: %v", err)
				}
				if aws.ToString(in.Username) != email || aws.ToString(in.UserPoolId) != svc.UserPoolID {
					t.Errorf("AdminCreateUser of %s in %s", aws.ToString(in.Username), aws.ToString(in.UserPoolId))
				}
				got = append(got, string(in.MessageAction))
				if len(got) > len(tc.answers) {
					t.Fatalf("AdminCreateUser called %d times", len(got))
				}
				return &cognitoidentityprovider.AdminCreateUserOutput{}, tc.answers[len(got)-1]
			}}
			rec := metrics.New(metrics.FunctionPeople)
			_, err := svc.Invite(metrics.NewContext(context.Background(), rec), operator, tokensmith.Workspace{ID: wsID}, wsPlace, email, tokensmith.RoleMember)
			line := fmt.Sprintf("%s", rec.Lines(now))
			if got := strings.Contains(line, `"AccountsNotCreated":1`); got != tc.counted {
				t.Errorf("record %s; want AccountsNotCreated %v", line, tc.counted)
			}
			if strings.Contains(line, email) {
				t.Errorf("record %s names the email", line)
			}
			if c := code(err); (tc.wantCode == "other" && !strings.HasPrefix(string(c), "other")) || (tc.wantCode != "other" && c != tc.wantCode) {
				t.Errorf("Invite = %v; want %s", err, tc.wantCode)
			}
			if err != nil && strings.Contains(err.Error(), email) {
				t.Errorf("Invite error %q names the email", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("AdminCreateUser calls = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestInviteAccountOnTheWire: what the SDK's Cognito client sends, decoded
// as Cognito's JSON protocol documents it (X-Amz-Target
// AWSCognitoIdentityProviderService.AdminCreateUser). An invitation to an
// email without an account creates it, with the invitation email; one to
// an email with an account makes the same single call, Cognito answers
// UsernameExistsException, and nothing is resent.
func TestInviteAccountOnTheWire(t *testing.T) {
	const existing = "arthur@example.com"
	type call struct {
		Target, UserPoolID, Username, MessageAction string
		Delivery                                    []string
	}
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UserPoolId             string
			Username               string
			MessageAction          string
			DesiredDeliveryMediums []string
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("decode request: %v", err)
		}
		calls = append(calls, call{r.Header.Get("X-Amz-Target"), in.UserPoolId, in.Username, in.MessageAction, in.DesiredDeliveryMediums})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if in.Username == existing {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"UsernameExistsException","message":"An account with the given email already exists."}`)
			return
		}
		fmt.Fprintf(w, `{"User":{"Username":%q,"UserStatus":"FORCE_CHANGE_PASSWORD"}}`, in.Username)
	}))
	defer srv.Close()
	w := newWorld()
	svc := service(w.store())
	svc.UserPoolID = "eu-west-1_pool"
	svc.UserPool = cognitoidentityprovider.New(cognitoidentityprovider.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	for _, email := range []string{"trillian@example.com", existing} {
		calls = nil
		if _, err := svc.Invite(context.Background(), operator, tokensmith.Workspace{ID: wsID}, wsPlace, email, tokensmith.RoleMember); err != nil {
			t.Errorf("Invite(%s) = %v", email, err)
		}
		want := []call{{"AWSCognitoIdentityProviderService.AdminCreateUser", svc.UserPoolID, email, "", []string{"EMAIL"}}}
		if fmt.Sprint(calls) != fmt.Sprint(want) {
			t.Errorf("Invite(%s) sent %+v; want %+v", email, calls, want)
		}
	}
}

// TestInviteResendOnTheWire: with Resends, an invitation of an email whose
// account exists reads its status (AdminGetUser) and, only while it has
// never signed in (FORCE_CHANGE_PASSWORD), sends it a new temporary
// password (AdminCreateUser with MessageAction RESEND): at most once in
// store.ResendInterval for the email, whichever workspace invites it (the
// claim is the email's, not the place's). A confirmed account is never
// sent one.
func TestInviteResendOnTheWire(t *testing.T) {
	const forced, confirmed = "forced@example.com", "confirmed@example.com"
	type call struct{ Target, Username, MessageAction string }
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ UserPoolId, Username, MessageAction string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			t.Errorf("decode request: %v", err)
		}
		target := r.Header.Get("X-Amz-Target")
		calls = append(calls, call{strings.TrimPrefix(target, "AWSCognitoIdentityProviderService."), in.Username, in.MessageAction})
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		status := map[string]string{forced: "FORCE_CHANGE_PASSWORD", confirmed: "CONFIRMED"}[in.Username]
		switch {
		case strings.HasSuffix(target, ".AdminGetUser"):
			fmt.Fprintf(w, `{"Username":%q,"UserStatus":%q}`, in.Username, status)
		case in.MessageAction == "RESEND":
			fmt.Fprintf(w, `{"User":{"Username":%q,"UserStatus":%q}}`, in.Username, status)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"UsernameExistsException","message":"An account with the given email already exists."}`)
		}
	}))
	defer srv.Close()
	st, svc, ws := storedWorld(t)
	clock := now
	svc.Now = func() time.Time { return clock }
	svc.UserPoolID = "eu-west-1_pool"
	svc.Resends = st
	svc.UserPool = cognitoidentityprovider.New(cognitoidentityprovider.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	ctx := context.Background()
	create := func(email string) call { return call{"AdminCreateUser", email, ""} }
	get := func(email string) call { return call{"AdminGetUser", email, ""} }
	resend := func(email string) call { return call{"AdminCreateUser", email, "RESEND"} }
	var last tokensmith.Member // of forced
	for _, step := range []struct {
		name  string
		after time.Duration
		email string
		place tokensmith.Place
		again bool // remove forced's last member first
		want  []call
	}{
		{"never signed in", 0, forced, wsPlace, false, []call{create(forced), get(forced), resend(forced)}},
		{"invited again within the day", store.ResendInterval - time.Second, forced, wsPlace, true, []call{create(forced), get(forced)}},
		{"a day later", store.ResendInterval, forced, wsPlace, true, []call{create(forced), get(forced), resend(forced)}},
		{"signed in", 0, confirmed, wsPlace, false, []call{create(confirmed), get(confirmed)}},
	} {
		if step.again {
			if _, err := svc.Remove(ctx, operator, ws, step.place, last.ID); err != nil {
				t.Fatal(err)
			}
		}
		clock = now.Add(step.after)
		calls = nil
		m, err := svc.Invite(ctx, operator, ws, step.place, step.email, tokensmith.RoleAdmin)
		if err != nil {
			t.Errorf("%s: Invite = %v", step.name, err)
		}
		if step.email == forced {
			last = m
		}
		if fmt.Sprint(calls) != fmt.Sprint(step.want) {
			t.Errorf("%s: sent %+v; want %+v", step.name, calls, step.want)
		}
	}
}
