package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// Message is one email to one person, in plain text.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// SendEmailAPI is the call SES makes, with the SDK's signature.
type SendEmailAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// SES sends through Amazon SES (API v2) from the address From.
type SES struct {
	API  SendEmailAPI
	From string
}

// Send sends m as a simple message: SES builds the MIME message.
func (s *SES) Send(ctx context.Context, m Message) error {
	_, err := s.API.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String("UTF-8")},
			Body:    &types.Body{Text: &types.Content{Data: aws.String(m.Text), Charset: aws.String("UTF-8")}},
		}},
	})
	if err != nil {
		return fmt.Errorf("send email: %w", err)
	}
	return nil
}

// Outbox writes each message as an RFC 5322 file (.eml) in Dir, as `make
// run` does in .local/outbox/: what SES would have sent, to read with any
// mail reader.
type Outbox struct {
	Dir  string
	From string
	Now  func() time.Time

	mu sync.Mutex
	n  int
}

var unsafeName = regexp.MustCompile(`[^a-z0-9@.-]+`)

// Send writes m to a file of its own, named by the time, a counter and the
// recipient.
func (o *Outbox) Send(_ context.Context, m Message) error {
	if strings.ContainsAny(m.To+m.Subject, "\r\n") {
		return errors.New("notify: a header holds a line break")
	}
	o.mu.Lock()
	o.n++
	n := o.n
	o.mu.Unlock()
	now := o.Now().UTC()
	id := make([]byte, 8)
	rand.Read(id)
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", o.From)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@tokensmith.local>\r\n", hex.EncodeToString(id))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	qp.Close()
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%04d-%s.eml", now.Format("20060102T150405Z"), n, unsafeName.ReplaceAllString(strings.ToLower(m.To), "_"))
	return os.WriteFile(filepath.Join(o.Dir, name), b.Bytes(), 0o644)
}
